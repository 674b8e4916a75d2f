import Foundation
import JSON

/// JSON Pointer (RFC 6901) helpers shared by `$ref` resolution and error paths.
enum JSONPointer {
    static func escape(_ token: String) -> String {
        guard token.contains(where: { $0 == "~" || $0 == "/" }) else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func unescape(_ token: Substring) -> String {
        guard token.contains("~") else { return String(token) }
        return token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }

    /// Follows `pointer` (without the leading `#`) into `document`; nil when a step does not exist.
    static func resolve(_ pointer: String, in document: JSONValue) -> JSONValue? {
        var current = document
        for rawToken in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let token = unescape(rawToken)
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(token), index >= 0, index < elements.count,
                    token == "0" || !token.hasPrefix("0")
                else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }
}
