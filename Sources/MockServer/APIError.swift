import JSON

/// An OpenAI/vLLM-shaped error: `{"error":{"message","type","param","code"}}` with its HTTP status.
struct APIError: Error, Sendable, CustomStringConvertible {
    var status: Int
    var message: String
    var type: String
    var param: String?
    var retryAfterSeconds: Int? = nil

    var description: String { "\(status) \(type): \(message)" }

    var body: String {
        var out = "{\"error\":{\"message\":"
        JSONValue.writeString(message, into: &out)
        out += ",\"type\":"
        JSONValue.writeString(type, into: &out)
        out += ",\"param\":"
        if let param { JSONValue.writeString(param, into: &out) } else { out += "null" }
        out += ",\"code\":\(status)}}"
        return out
    }

    static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "BadRequestError", param: param)
    }

    static func notFound(_ message: String, param: String? = nil) -> APIError {
        APIError(status: 404, message: message, type: "NotFoundError", param: param)
    }

    static func internalError(_ message: String) -> APIError {
        APIError(status: 500, message: message, type: "InternalServerError", param: nil)
    }
}
