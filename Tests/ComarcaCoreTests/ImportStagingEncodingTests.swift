@testable import ComarcaCore
import Foundation
@testable import PGClient
import Spreadsheet
import Testing

extension ConvertedRow {
    /// The raw cells as the staging table receives them: every cell's display text, `width` of them.
    var raw: [String] { (0..<width).map { $0 < cells.count ? cells[$0].displayText : "" } }
}

/// How converted rows become COPY lines for the staging table, and the hand-written readings
/// the import's reading phase uses, each against the form it replaced.
@Suite("import staging encodes rows as before")
struct ImportStagingEncodingTests {
    static let tricky = ["", " ", "Ana", "José Luis", "  Ana  ", "a\"b", "a\\b", "tab\there", "line\nbreak", "cr\rx", "ü😀", "\u{1}x", "/"]

    static func specs() -> FieldSpecSet {
        FieldSpecSet(entity: .records, fields: BuiltinFields.all(.records) + [
            FieldSpec(key: "facturacion", label: FieldLabel(es: "Facturación"), type: .money),
            FieldSpec(key: "empleados", label: FieldLabel(es: "Empleados"), type: .integer),
            FieldSpec(key: "alta", label: FieldLabel(es: "Alta"), type: .date),
            FieldSpec(key: "boletin", label: FieldLabel(es: "Boletín"), type: .boolean),
            FieldSpec(key: "nivel", label: FieldLabel(es: "Nivel"), type: .text, defaultValue: .string("básico")),
        ])
    }

    static let headers = ["Id externo", "Nombre", "Apellidos", "Empresa", "Correo electrónico", "Teléfono", "NIF/CIF", "Origen",
                          "Facturación", "Empleados", "Alta", "Boletín", "Etapa", "Cuenta", "Zona", "Propietario"]

    /// Rows of tricky and ordinary cells for every column.
    static func rows(count: Int) -> [SheetRow] {
        var generator = SeededGenerator(seed: 21)
        let choices: [[String]] = [
            ["EXT-1", " EXT-2 ", "x\ty"], tricky, tricky, tricky + ["ACME S.L."], ["ana@acme.es", "ANA@ACME.ES", "bad", "a b@c.es"],
            ["612345678", "+34 612 345 678", "123", "6.12345678E8"], ["12345678Z", "B12345674", "X1234567L", "nope"],
            ["Web", "referral", "Otro", "??"], ["10.313,25", "4083,6", "abc", "1,005"], ["383", "12,5", "-7", "x"],
            ["08/08/2024", "2024-02-30", "1/2/24", "hoy"], ["sí", "no", "quizá"], ["objetivo", "Potencial", "contacto", "descalificado", "raro"],
            ["B12345674", "ACME S.L.", " Muñoz  Hermanos "], ["Z1", "HQ"], ["Ana@Acme.es", " x@y.z "],
        ]
        return (0..<count).map { n in
            let cells = choices.map { options -> CellValue in
                guard Int.random(in: 0..<5, using: &generator) > 0 else { return .empty }
                let text = options.randomElement(using: &generator)!
                return text.isEmpty ? .empty : .text(text)
            }
            return SheetRow(number: n + 2, cells: Array(cells.prefix(Int.random(in: 10...cells.count + 2, using: &generator))))
        }
    }

    @Test("a converted row is staged as the former field list written field by field")
    func rowsAsBefore() throws {
        let specs = Self.specs()
        for mode in [ImportMode.create, .upsert] {
            let header = SheetRow(number: 1, cells: Self.headers.map(CellValue.text))
            let (plan, problems) = ImportColumnResolver.plan(
                header: header, entity: .records, specs: specs, mapping: ImportMapping(), mode: mode, match: mode == .create ? nil : .externalID)
            #expect(problems.isEmpty)
            let converter = ImportRowConverter(plan: plan, specs: specs, reader: ImportValueReader(locale: ImportLocale(), specs: specs), mode: mode)
            let shape = ImportStageShape.forEntity(.records)
            var encoder = ImportStageShape.RowEncoder(shape: shape, slots: converter.slots, customKeys: specs.customKeys)
            var converted = converter.makeRow()
            for (i, row) in Self.rows(count: 3_000).enumerated() {
                converter.convert(row, into: &converted)
                let zone: (id: String, rule: String)? = i % 3 == 0 ? ("6f1c2d3e-1111-4222-8333-444455556666", "postal_prefix:08") : nil
                var out = PGCopyEncoder()
                encoder.encode(converted, zone: zone, into: &out)
                let expected = Self.copyLine(Self.formerFields(converted, slots: converter.slots, customKeys: specs.customKeys, zone: zone))
                #expect(out.bytes == expected, "row \(row.number)")
            }
        }
    }

    /// The staged fields as the staging wrote them before, from the row's values by key.
    static func formerFields(_ row: ConvertedRow, slots: ImportFieldSlots, customKeys: Set<String>, zone: (id: String, rule: String)?) -> [String?] {
        var values: [String: FieldValue] = [:]
        for (slot, value) in row.values.enumerated() { if let value { values[slots.keys[slot]] = value } }
        func text(_ key: String) -> String? {
            switch values[key] {
            case .none, .null: nil
            case .string(let s): s.isEmpty ? nil : s
            case .some(let value): value.plainText
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json(_ issues: [ImportIssue]) -> String {
            issues.isEmpty ? "[]" : String(decoding: try! encoder.encode(issues), as: UTF8.self)
        }
        let custom = values.filter { customKeys.contains($0.key) && !$0.value.isEmpty }
        let account = row[pseudo: .account]
        let (accountTaxID, accountNameKey) = ImportStageShape.accountKeys(account)
        return [
            String(row.number), PGArrayLiteral.format(row.raw.map { $0 }), json(row.issues), row.bad ? "t" : "f", json(row.createIssues),
            text("first_name"), text("last_name"), text("company_name"),
            RecordService.displayName(
                firstName: text("first_name"), lastName: text("last_name"), companyName: text("company_name"), email: text("email"), phone: text("phone")),
            text("email"), text("phone"), text("tax_id"), text("source"), text("campaign_id"),
            row[pseudo: .externalID], row[pseudo: .stage], row[pseudo: .disqualifiedReason], custom.isEmpty ? nil : RecordSupport.customJSON(custom),
            row[pseudo: .zone], zone?.id, zone?.rule, row[pseudo: .owner], accountTaxID, accountNameKey, account,
        ]
    }

    /// A COPY text line written byte by byte, as PGCopyWriter did.
    static func copyLine(_ fields: [String?]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(0x09) }
            guard let field else {
                out += Array("\\N".utf8)
                continue
            }
            for byte in field.utf8 {
                switch byte {
                case 0x5C: out += [0x5C, 0x5C]
                case 0x09: out += Array("\\t".utf8)
                case 0x0A: out += Array("\\n".utf8)
                case 0x0D: out += Array("\\r".utf8)
                default: out.append(byte)
                }
            }
        }
        out.append(0x0A)
        return out
    }

    @Test("issues are written as JSONEncoder writes them with sorted keys")
    func issuesJSON() throws {
        var control = ""
        for v in 0..<0x80 { control.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
        let texts = Self.tricky + [control, "\u{7F}\u{85}\u{2028}\u{FEFF}é/", "a/b\\c\"d"]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var generator = SeededGenerator(seed: 22)
        for _ in 0..<500 {
            let issues = (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                ImportIssue(
                    column: Bool.random(using: &generator) ? texts.randomElement(using: &generator) : nil,
                    raw: Bool.random(using: &generator) ? texts.randomElement(using: &generator) : nil,
                    code: texts.randomElement(using: &generator)!, message: texts.randomElement(using: &generator)!,
                    severity: Bool.random(using: &generator) ? "error" : "warning")
            }
            #expect(ImportStageShape.issuesJSON(issues) == String(decoding: try encoder.encode(issues), as: UTF8.self))
        }
        #expect(ImportStageShape.issuesJSON([]) == "[]")
    }

    @Test("field values are written as JSON strings escaped scalar by scalar")
    func fieldJSONStrings() {
        var control = ""
        for v in 0..<0x80 { control.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
        for text in Self.tricky + [control, "\u{7F}\u{85}\u{2028}é😀"] {
            #expect(FieldValue.string(text).jsonText == Self.jsonStringByScalar(text), "\(text.debugDescription)")
        }
    }

    /// The escaping before: by Unicode scalar into a String.
    static func jsonStringByScalar(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    @Test("text dates are read by byte as they were read by character")
    func civilDates() {
        let reader = ImportValueReader(locale: ImportLocale())
        let texts = NormalizeFastPathTests.corpus(NormalizeFastPathTests.digits + ["/", "-", ".", " ", "é", "1", "2"], length: 12,
                                                  count: 60_000, seed: 23, extra: ["31/02/2024", "1//2/2024", "/1/2/24/", "2024.1.2"])
        for text in texts {
            for order in [ImportDateOrder.dayMonth, .monthDay] {
                let value = reader.civilDate(text, order: order)
                let expected = Self.civilDateByCharacter(text, order: order)
                #expect(value.map { [$0.0, $0.1, $0.2] } == expected.map { [$0.0, $0.1, $0.2] }, "\(text.debugDescription)")
            }
        }
    }

    /// The reading before: split by character.
    static func civilDateByCharacter(_ t: String, order: ImportDateOrder) -> (Int, Int, Int)? {
        let pieces = t.split(whereSeparator: { $0 == "/" || $0 == "-" || $0 == "." }).map(String.init)
        guard pieces.count == 3, pieces.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
        let n = pieces.map { Int($0)! }
        var y: Int, m: Int, d: Int
        if pieces[0].count == 4 {
            (y, m, d) = (n[0], n[1], n[2])
        } else {
            guard pieces[2].count == 4 || pieces[2].count == 2 else { return nil }
            y = pieces[2].count == 2 ? 2000 + n[2] : n[2]
            switch order {
            case .dayMonth: (d, m) = (n[0], n[1])
            case .monthDay: (m, d) = (n[0], n[1])
            }
        }
        guard FieldSpecSet.isRealDate(year: y, month: m, day: d) else { return nil }
        return (y, m, d)
    }

    @Test("the day/month evidence of a text date is what the split reading found")
    func dateEvidence() {
        let texts = NormalizeFastPathTests.corpus(NormalizeFastPathTests.digits + ["/", "-", ".", " ", "+", "1", "3", "é"], length: 12,
                                                  count: 30_000, seed: 24, extra: ["13/01/2024", "01/13/2024", "+13/1/2024", " 13/1/2024 10:00"])
        var evidence = ImportDateEvidence()
        var expected: [Int: ImportDateOrder] = [:]
        for (column, text) in texts.enumerated() {
            evidence.observe(.text(text), column: column)
            if let (a, b) = Self.firstTwoBySplitting(text) {
                if a > 12, b <= 12 { expected[column] = .dayMonth }
                if b > 12, a <= 12 { expected[column] = .monthDay }
            }
        }
        #expect(evidence.decide(default: .dayMonth) == expected)
    }

    static func firstTwoBySplitting(_ text: String) -> (Int, Int)? {
        let t = Normalize.trimmed(text)
        let date = t.split(separator: " ").first.map(String.init) ?? t
        let pieces = date.split(whereSeparator: { $0 == "/" || $0 == "-" || $0 == "." })
        guard pieces.count == 3, pieces[0].count <= 2, let a = Int(pieces[0]), let b = Int(pieces[1]) else { return nil }
        return (a, b)
    }

    @Test("a row is a total line exactly when its first text folds to total or suma")
    func totalLines() {
        let texts = ["Total", " total", "TOTALES", "Suma", "\u{A0}Suma", "Ťotal", "\u{301}total", "EXT-1", "1", "sumas", "xtotal", "", "Ana"]
        for text in texts + NormalizeFastPathTests.corpus(["t", "T", "s", "o", "a", "l", " ", "Ť", "u", "m"], length: 6, seed: 25) {
            let row = SheetRow(number: 9, cells: [.empty, text.isEmpty ? .empty : .text(text), .text("1")])
            let first = text.isEmpty || CellValue.text(text).isEmpty ? "1" : text
            let folded = Normalize.folded(first)
            let expected = folded.hasPrefix("total") || folded.hasPrefix("suma") || folded == "totales"
            #expect(ImportRun.looksLikeTotal(row) == expected, "\(text.debugDescription)")
        }
    }
}

/// SplitMix64: the same values on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
