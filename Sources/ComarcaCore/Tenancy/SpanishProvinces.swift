import Foundation

/// Spain's 52 provinces (50 provinces and the autonomous cities Ceuta and Melilla) by their INE
/// code, which is also the first two digits of every postal code in them. Names are matched
/// accent- and case-insensitively (`Normalize.folded`), in the official form and the common other
/// ones: Castilian and co-official names ("Gerona"/"Girona", "Vizcaya"/"Bizkaia"), the INE list
/// form with the article after a comma ("Coruña, A"), and "Alicante/Alacant"-style pairs.
public enum SpanishProvinces {
    /// Code (1...52) → names; the first is the official name (`name(of:)`).
    static let table: [(code: Int, names: [String])] = [
        (1, ["Araba/Álava", "Álava", "Araba"]),
        (2, ["Albacete"]),
        (3, ["Alicante/Alacant", "Alicante", "Alacant"]),
        (4, ["Almería"]),
        (5, ["Ávila"]),
        (6, ["Badajoz"]),
        (7, ["Illes Balears", "Islas Baleares", "Baleares", "Balears", "Balears, Illes", "Baleares, Islas"]),
        (8, ["Barcelona"]),
        (9, ["Burgos"]),
        (10, ["Cáceres"]),
        (11, ["Cádiz"]),
        (12, ["Castellón/Castelló", "Castellón", "Castelló", "Castellón de la Plana"]),
        (13, ["Ciudad Real"]),
        (14, ["Córdoba"]),
        (15, ["A Coruña", "La Coruña", "Coruña", "Coruña, A", "Coruña, La"]),
        (16, ["Cuenca"]),
        (17, ["Girona", "Gerona"]),
        (18, ["Granada"]),
        (19, ["Guadalajara"]),
        (20, ["Gipuzkoa", "Guipúzcoa", "Guipuzkoa"]),
        (21, ["Huelva"]),
        (22, ["Huesca"]),
        (23, ["Jaén"]),
        (24, ["León"]),
        (25, ["Lleida", "Lérida"]),
        (26, ["La Rioja", "Rioja", "Rioja, La"]),
        (27, ["Lugo"]),
        (28, ["Madrid"]),
        (29, ["Málaga"]),
        (30, ["Murcia", "Región de Murcia"]),
        (31, ["Navarra", "Nafarroa", "Navarra/Nafarroa"]),
        (32, ["Ourense", "Orense"]),
        (33, ["Asturias"]),
        (34, ["Palencia"]),
        (35, ["Las Palmas", "Palmas", "Palmas, Las"]),
        (36, ["Pontevedra"]),
        (37, ["Salamanca"]),
        (38, ["Santa Cruz de Tenerife", "S.C. Tenerife", "Tenerife"]),
        (39, ["Cantabria"]),
        (40, ["Segovia"]),
        (41, ["Sevilla"]),
        (42, ["Soria"]),
        (43, ["Tarragona"]),
        (44, ["Teruel"]),
        (45, ["Toledo"]),
        (46, ["Valencia/València", "Valencia", "València"]),
        (47, ["Valladolid"]),
        (48, ["Bizkaia", "Vizcaya"]),
        (49, ["Zamora"]),
        (50, ["Zaragoza"]),
        (51, ["Ceuta"]),
        (52, ["Melilla"]),
    ]

    /// Folded name → code.
    static let byFoldedName: [String: Int] = {
        var names: [String: Int] = [:]
        for (code, list) in table {
            for name in list { names[Normalize.folded(name)] = code }
        }
        return names
    }()

    /// The spellings of the table as written, upper- and lower-cased: most values in a file are
    /// one of these, found without folding.
    static let byExactName: [String: Int] = {
        var names: [String: Int] = [:]
        for (code, list) in table {
            for name in list {
                names[name] = code
                names[name.uppercased()] = code
                names[name.lowercased()] = code
            }
        }
        return names
    }()

    /// The official name of a province ("Girona" for 17), nil outside 1...52.
    public static func name(of code: Int) -> String? {
        (1...52).contains(code) ? table[code - 1].names[0] : nil
    }

    /// The province a text names: a code ("17", "08", "8") or a name in any of its forms ("Gerona",
    /// "GIRONA", "girona", "Coruña, A", "Alicante/Alacant"). nil when it names none.
    public static func code(for text: String) -> Int? {
        if let code = exactCode(text) { return code }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let code = digitsCode(trimmed) { return code }
        let folded = Normalize.folded(trimmed)
        if let code = byFoldedName[folded] { return code }
        // "Alicante / Alacant", "Valencia-València": either part names it.
        for separator: Character in ["/", "-"] where folded.contains(separator) {
            let parts = folded.split(separator: separator).map { $0.trimmingCharacters(in: .whitespaces) }
            let codes = Set(parts.compactMap { byFoldedName[$0] })
            if codes.count == 1 { return codes.first }
        }
        return nil
    }

    /// Without allocating: an exact spelling or a one- or two-digit code.
    @inline(__always)
    static func exactCode(_ text: String) -> Int? {
        if let code = digitsCode(text) { return code }
        return byExactName[text]
    }

    /// "17", "08", "8" → the code when it is 1...52.
    @inline(__always)
    static func digitsCode(_ text: String) -> Int? {
        var value = 0
        var count = 0
        for byte in text.utf8 {
            guard byte >= 48, byte <= 57, count < 2 else { return nil }
            value = value * 10 + Int(byte - 48)
            count += 1
        }
        return count > 0 && (1...52).contains(value) ? value : nil
    }
}
