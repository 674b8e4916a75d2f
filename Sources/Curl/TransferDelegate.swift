/// What to do after a body buffer was consumed.
package enum ReceiveVerdict: Sendable {
    case proceed
    /// Stop the transfer now; it completes with `TransferError.aborted(reason)`.
    case abort(String)
}

/// Receives one transfer's response on the loop thread. Calls for one transfer never overlap.
///
/// Implementations must be cheap: they run on the thread that timestamps every other stream's bytes.
package protocol TransferDelegate: AnyObject {
    /// The status line and headers arrived (called once, before any body bytes).
    func transferDidReceiveResponse(status: Int, headers: ResponseHeaders)
    /// A buffer of body bytes arrived; `receivedAt` was taken before anything else was done with it.
    func transferDidReceive(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) -> ReceiveVerdict
    /// Whether a generated token has been seen yet (the loop enforces the first-token timeout on it).
    var hasFirstToken: Bool { get }
    /// The transfer finished, successfully or not. Called exactly once.
    func transferDidComplete(_ outcome: TransferOutcome)
}
