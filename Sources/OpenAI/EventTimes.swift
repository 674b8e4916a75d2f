/// Receive times of a stream's token events, 4 bytes each: microseconds after the first event.
///
/// A record needs every event's time, so this is per-stream memory that grows with the answer: 500 tokens took 4 KiB
/// as `UInt64` nanoseconds and take 2 KiB here, at a precision (1 µs) finer than any figure derived from them.
/// A stream still running 71 minutes after its first event (past `UInt32` µs) switches to nanoseconds.
package struct EventTimes: Sendable, Equatable {
    private var origin: UInt64 = 0
    private var offsetsUs: [UInt32] = []
    private var wide: [UInt64]?

    package init() {}

    package var count: Int { wide?.count ?? offsetsUs.count }
    package var isEmpty: Bool { count == 0 }

    mutating func reserveCapacity(_ count: Int) { offsetsUs.reserveCapacity(count) }

    /// Appends a monotonic time in nanoseconds (not before the first one).
    package mutating func append(_ time: UInt64) {
        if wide != nil {
            wide?.append(time)
        } else if offsetsUs.isEmpty {
            origin = time
            offsetsUs.append(0)
        } else {
            let micros = time >= origin ? (time - origin) / 1000 : 0
            if micros <= UInt64(UInt32.max) {
                offsetsUs.append(UInt32(micros))
            } else {
                wide = values + [time]
                offsetsUs = []
            }
        }
    }

    /// The times in monotonic nanoseconds (the first exact, the others to the microsecond).
    package var values: [UInt64] { wide ?? offsetsUs.map(time) }

    package var last: UInt64? { wide?.last ?? offsetsUs.last.map(time) }

    private func time(_ offsetUs: UInt32) -> UInt64 { origin + UInt64(offsetUs) * 1000 }
}
