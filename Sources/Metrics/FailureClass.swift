/// Why a request failed (the classes of the README's failure table). Every failed request carries exactly one.
package enum FailureClass: String, Sendable, Codable, CaseIterable, Comparable {
    case connect
    case timeoutConnect = "timeout-connect"
    case timeoutFirstToken = "timeout-first-token"
    case timeoutIdle = "timeout-idle"
    case timeoutTotal = "timeout-total"
    case http4xx = "http-4xx"
    case http5xx = "http-5xx"
    case errorEvent = "error-event"
    case malformedEvent = "malformed-event"
    case eventTooLarge = "event-too-large"
    case truncated
    case cancelled

    package static func < (lhs: FailureClass, rhs: FailureClass) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
