import ComarcaCore
import ComarcaTestSupport
import Foundation
import PGClient
import Testing

/// What `comarca import run` prints: each finding whole (its value and message as written, even
/// with `;` and quotes), no PostgreSQL NOTICE, and where the time went.
@Suite("import CLI output")
struct ImportCLIOutputTests {
    static func run(_ arguments: [String], database: TestDatabase) throws -> (status: Int32, output: String) {
        let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/comarca")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the comarca executable first (swift build --build-tests)")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments + ["--database-url", ImportResumeTests.databaseURL(database)]
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "COMARCA_APP_DATABASE_URL")
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("a rejected value holding ; and quotes is printed whole, and PostgreSQL's notices never reach the terminal")
    func findingsArePrintedWhole() async throws {
        try await ImportFixture.with { f in
            let url = try f.file("clientes.csv", "Nombre;Email\nAna;\"ana\"\";x@\"\nBea;bea@example.es\n")
            let (_, output) = try Self.run(["import", "run", "acme", "--entity", "records", "--file", url.path], database: f.database)
            #expect(output.contains(#"(value ana";x@)"#), "\(output)")
            let line = try #require(output.split(separator: "\n").first { $0.contains(#"ana";x@"#) }, "\(output)")
            #expect(line.hasSuffix("]"), "the finding's line was cut: \(line)")
            #expect(line.contains("row 2"), "\(line)")
            #expect(!output.contains("NOTICE"), "\(output)")
            #expect(output.contains("time: reading"), "\(output)")
        }
    }
}
