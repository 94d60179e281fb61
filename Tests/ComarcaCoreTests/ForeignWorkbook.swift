import Foundation
import Testing

/// Workbooks written by openpyxl (PyPI), a tool no one on the project wrote: its numbers are
/// what Python writes (`%.16g` of a binary double), its strings inline. The Python comes from
/// `$COMARCA_PYTHON` (a venv with openpyxl that `deploy/dev test` and `deploy/dev db` set up).
enum ForeignWorkbook {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// One sheet: its name and rows, each row a Python list expression (`["Ana", 612345678]`,
    /// `[math.nextafter(9890.47, 0)]`; `None` is an empty cell).
    struct Sheet {
        var name: String
        var rows: [String]
    }

    /// Writes `sheets` with openpyxl to `url`.
    static func write(_ sheets: [Sheet], to url: URL) throws {
        guard let python = ProcessInfo.processInfo.environment["COMARCA_PYTHON"], !python.isEmpty else {
            throw Unavailable(description: "COMARCA_PYTHON is not set: run the tests with deploy/dev test (or eval \"$(deploy/dev db)\"), which makes a Python with openpyxl and sets it")
        }
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Unavailable(description: "COMARCA_PYTHON=\(python) is not an executable; run deploy/dev db again to make the test venv")
        }
        var script = "import math, sys, openpyxl\nwb = openpyxl.Workbook()\nwb.remove(wb.active)\n"
        for sheet in sheets {
            script += "ws = wb.create_sheet(\(pythonString(sheet.name)))\n"
            for row in sheet.rows { script += "ws.append(\(row))\n" }
        }
        script += "wb.save(sys.argv[1])\n"
        let scriptURL = url.deletingPathExtension().appendingPathExtension("py")
        try Data(script.utf8).write(to: scriptURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [scriptURL.path, url.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Unavailable(description: "openpyxl could not write \(url.lastPathComponent): \(String(decoding: message, as: UTF8.self))")
        }
    }

    /// A Python string literal.
    static func pythonString(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
