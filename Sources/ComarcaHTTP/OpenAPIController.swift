import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Serves the OpenAPI 3.1 document kept in the repository (Resources/openapi.json). A test
/// fails when the router and the document disagree.
enum OpenAPIDocument {
    static let data: Data? = Bundle.module.url(forResource: "openapi", withExtension: "json").flatMap { try? Data(contentsOf: $0) }

    static func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/openapi.json") { _, _ in
            guard let data else { throw Problem(code: "internal", title: "The API description is missing from this build", status: .internalServerError) }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}
