import ComarcaCore
import Foundation
import PGClient

/// Runs the read transaction the service sends for "latest 50 records in my zone" as fast as a
/// given number of concurrent clients can, for a given time, and prints one JSON line.
///   comarca-bench --mode pipelined|sequential --clients 4 --seconds 10 --tenant UUID --zone UUID
struct Options {
    var mode = "pipelined"
    var clients = 4
    var seconds = 10.0
    var tenant = UUID()
    var zone = UUID()

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            switch flag {
            case "--mode": mode = value
            case "--clients": clients = Int(value) ?? clients
            case "--seconds": seconds = Double(value) ?? seconds
            case "--tenant": tenant = UUID(uuidString: value)!
            case "--zone": zone = UUID(uuidString: value)!
            default: fatalError("unknown flag \(flag)")
            }
        }
    }
}

if CommandLine.arguments.dropFirst().first == "xlsx-from-csv" {
    // comarca-bench xlsx-from-csv IN.csv OUT.xlsx
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    try XLSXFromCSV.run(input: arguments[0], output: arguments[1])
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "pgbench-script" {
    // comarca-bench pgbench-script TOKEN: the SQL of one GET /v1/records?limit=50, for pgbench.
    let token = CommandLine.arguments.dropFirst(2).first ?? ""
    print(try PgbenchScript.script(token: token, conninfo: ProcessInfo.processInfo.environment["COMARCA_APP_DATABASE_URL"] ?? ""), terminator: "")
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "reads" {
    // comarca-bench reads TOKEN [iterations]
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    let env = ProcessInfo.processInfo.environment
    try ReadBench.run(
        token: arguments.first ?? "", iterations: arguments.dropFirst().first.flatMap(Int.init) ?? 200,
        appURL: env["COMARCA_APP_DATABASE_URL"] ?? "", superuserURL: env["COMARCA_SUPERUSER_URL"] ?? "")
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "searches" {
    // comarca-bench searches TOKEN [iterations per kind of term] [strategy, e.g. plannerChoice]
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    let app = try PGConnection.connect(ProcessInfo.processInfo.environment["COMARCA_APP_DATABASE_URL"] ?? "")
    let session = try AuthService().authenticate(token: arguments.first ?? "", on: app)
    let strategy = arguments.count > 2 ? try require(SearchStrategy(rawValue: arguments[2]), "unknown strategy \(arguments[2])") : nil
    try SearchBench.run(session: session, iterations: arguments.dropFirst().first.flatMap(Int.init) ?? 50, strategy: strategy, on: app)
    exit(0)
}

let options = Options(CommandLine.arguments)
let conninfo = ProcessInfo.processInfo.environment["COMARCA_APP_DATABASE_URL"] ?? ""
let scope = AccessScope(tenantID: options.tenant, actorID: nil, visibility: .zones([options.zone]))
let settings = scope.settings
let latest: PGQuery = """
    SELECT record_id, display_name, stage, email, updated_at FROM records
     WHERE tenant_id = \(options.tenant) AND zone_id = \(options.zone)
     ORDER BY updated_at DESC, record_id DESC LIMIT 50
    """

/// What the client threads report back; the lock makes the shared arrays safe.
final class Results: @unchecked Sendable {
    let lock = NSLock()
    var latencies: [Double] = []
    var rows = 0
    func add(_ more: [Double], rows count: Int) {
        lock.lock()
        latencies += more
        rows += count
        lock.unlock()
    }
}

let deadline = Date().addingTimeInterval(options.seconds)
let results = Results()
var threads: [Thread] = []
let done = DispatchGroup()
for _ in 0..<options.clients {
    done.enter()
    let thread = Thread {
        defer { done.leave() }
        let connection = try! PGConnection.connect(conninfo)
        var local: [Double] = []
        var rows = 0
        while Date() < deadline {
            let start = DispatchTime.now().uptimeNanoseconds
            if options.mode == "pipelined" {
                rows += try! connection.pipelinedTransaction(settings: settings, [latest])[0].count
            } else {
                rows += try! connection.transaction(settings: settings) { try $0.query(latest).count }
            }
            local.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
        }
        results.add(local, rows: rows)
    }
    threads.append(thread)
    thread.start()
}
done.wait()
let latencies = results.latencies.sorted()
let rowsSeen = results.rows
func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
let tps = Double(latencies.count) / options.seconds
print(String(format: #"{"mode":"%@","clients":%d,"transactions":%d,"tps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"rows_per_tx":%.1f}"#,
             options.mode, options.clients, latencies.count, tps, percentile(0.5), percentile(0.99),
             Double(rowsSeen) / Double(max(1, latencies.count))))
