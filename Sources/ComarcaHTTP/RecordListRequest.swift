import ComarcaCore
import Foundation
import Hummingbird

/// The query string of `GET /v1/records`:
/// `stage=target,potential`, `zoneId`, `source`, `campaignId`, `ownerId`, `updatedSince` (RFC 3339),
/// `q` (search), `sort=updated|created|name` (prefix `-` for descending; default `-updated`),
/// `cf.KEY=value`, `cf.KEY.gte=…`, `cf.KEY.lte=…` (custom fields), `fields=id,displayName,…`,
/// `limit`, `cursor`.
struct RecordListRequest {
    var filter = RecordQuery.Filter()
    var fields: Set<String>?

    init(_ request: Request) throws {
        var problems: [CoreError.FieldError] = []
        let parameters = request.uri.queryParameters
        func uuid(_ name: String) -> UUID? {
            guard let text = parameters.get(name) else { return nil }
            guard let id = UUID(uuidString: text) else {
                problems.append(.init(field: name, message: "must be a UUID"))
                return nil
            }
            return id
        }
        if let stages = parameters.get("stage") {
            filter.stages = stages.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let zone = uuid("zoneId") { filter.zoneIDs = [zone] }
        filter.source = parameters.get("source")
        filter.campaignID = uuid("campaignId")
        filter.ownerID = uuid("ownerId")
        if let since = parameters.get("updatedSince") {
            do {
                filter.updatedSince = try Timestamps.parse(since, field: "updatedSince")
            } catch let error as CoreError {
                problems += error.fieldErrors
            }
        }
        if let q = parameters.get("q"), !q.trimmingCharacters(in: .whitespaces).isEmpty { filter.search = q }
        if let sort = parameters.get("sort") {
            let descending = sort.hasPrefix("-")
            if let value = RecordQuery.Sort(rawValue: String(sort.drop(while: { $0 == "-" || $0 == "+" }))) {
                filter.sort = value
                filter.descending = descending
            } else {
                problems.append(.init(field: "sort", message: "one of updated, created, name, optionally prefixed by -"))
            }
        }
        for (name, value) in parameters where name.hasPrefix("cf.") {
            let parts = name.dropFirst(3).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            switch parts.count {
            case 1: filter.custom.append(.init(key: parts[0], op: .eq, value: String(value)))
            case 2 where parts[1] == "gte": filter.custom.append(.init(key: parts[0], op: .gte, value: String(value)))
            case 2 where parts[1] == "lte": filter.custom.append(.init(key: parts[0], op: .lte, value: String(value)))
            default: problems.append(.init(field: String(name), message: "use cf.KEY, cf.KEY.gte or cf.KEY.lte"))
            }
        }
        if let fields = parameters.get("fields") {
            self.fields = Set(fields.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }).union(["id"])
        }
        guard problems.isEmpty else { throw CoreError(.invalidInput, "invalid query", fieldErrors: problems) }
    }
}

/// A page of items as JSON text PostgreSQL wrote, optionally reduced to the requested top-level
/// fields of each item (`fields=`).
struct RawJSONPage: ResponseGenerator, Sendable {
    let json: String
    let fields: Set<String>?

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var bytes = Array(json.utf8)
        if let fields,
            var object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let items = object["items"] as? [[String: Any]]
        {
            object["items"] = items.map { $0.filter { fields.contains($0.key) } }
            bytes = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: .init(bytes: bytes)))
    }
}
