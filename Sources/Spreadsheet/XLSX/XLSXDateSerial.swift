/// Excel date serials ↔ civil dates, with integer arithmetic only (no Calendar per cell).
///
/// 1900 system: serial 1 is 1900-01-01 and Excel believes 1900 was a leap year, so serial 60 is the
/// fictitious 1900-02-29 and serials 1–59 are one day earlier than a naive count from 1899-12-30
/// would give. Serial 60 has no real date: it reads as `.error("#DATE")`, as do serials below 0 or
/// after 9999-12-31. Serial 0 (Excel's "1900-01-00") reads as 1899-12-31, which is what a time
/// with no date part (0.5 under `h:mm`) carries. 1904 system: serial 0 is 1904-01-01.
enum XLSXDateSerial {
    /// The cell value that Excel would show for `serial` under a date (or time-only) format.
    static func cellValue(serial: Double, date1904: Bool, timeOnly: Bool) -> CellValue {
        guard serial.isFinite, serial >= 0, serial < 3_000_000 else { return .error("#DATE") }
        var whole = serial.rounded(.down)
        var seconds = ((serial - whole) * 86_400).rounded()
        if seconds >= 86_400 {
            whole += 1
            seconds -= 86_400
        }
        let serialDay = Int(whole)
        let daysFromEpoch: Int   // days after 1899-12-30
        if date1904 {
            daysFromEpoch = serialDay + 1462
        } else {
            if serialDay == 60 { return .error("#DATE") }
            daysFromEpoch = serialDay >= 61 ? serialDay : serialDay + 1
        }
        let civil = civilFromDays(daysFromEpoch + epoch1899)
        guard civil.year <= 9999 else { return .error("#DATE") }
        let secondOfDay = Int(seconds)
        return .date(SpreadsheetDateTime(
            year: civil.year, month: civil.month, day: civil.day,
            hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60, second: secondOfDay % 60,
            hasTime: serial != serial.rounded(.down) || timeOnly))
    }

    /// The serial Excel stores for a date and time, or nil for a date the system cannot hold
    /// (before 1900-01-01, or before 1904-01-01 in the 1904 system) or an invalid date.
    static func serial(of date: SpreadsheetDateTime, date1904: Bool) -> Double? {
        guard (1...12).contains(date.month), date.day >= 1, date.day <= daysInMonth(date.year, date.month),
              (0...23).contains(date.hour), (0...59).contains(date.minute), (0...59).contains(date.second),
              date.year <= 9999 else { return nil }
        let days = daysFromCivil(date.year, date.month, date.day) - epoch1899
        let serialDay: Int
        if date1904 {
            serialDay = days - 1462
            guard serialDay >= 0 else { return nil }
        } else {
            guard days >= 2 else { return nil }
            serialDay = days >= 61 ? days : days - 1
        }
        let seconds = date.hour * 3600 + date.minute * 60 + date.second
        return Double(serialDay) + Double(seconds) / 86_400
    }

    /// 1899-12-30 as days since 1970-01-01.
    static let epoch1899 = -25_569

    /// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Howard Hinnant's civil_from_days.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
