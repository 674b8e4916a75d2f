import CCurl
import Foundation

/// One HTTP request in flight: its easy handle, its delegate and the state the loop's timeouts need.
///
/// Owned by the loop thread once submitted; the loop keeps it retained while libcurl holds its pointer.
package final class Transfer: @unchecked Sendable {
    package let request: TransferRequest
    let delegate: TransferDelegate
    let easy: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var errorBuffer: UnsafeMutablePointer<CChar>
    /// The request body, the one copy of it while the transfer lives: libcurl reads it in place
    /// (CURLOPT_POSTFIELDS), and `request.body` is dropped, so a 1000-token prompt (~5 KB) is not held twice per
    /// stream as it was with COPYPOSTFIELDS next to the caller's array.
    private var bodyBuffer: UnsafeMutableRawBufferPointer?

    /// Monotonic ns when the transfer was handed to libcurl (t0 of every latency).
    package internal(set) var startedAt: UInt64 = 0
    var lastReceiveAt: UInt64 = 0
    /// The loop's receive time for the socket being read (`ReceiveStamp`), taken by each buffer libcurl hands over.
    var stamp: UnsafeMutablePointer<ReceiveStamp>?
    /// The connection this attempt uses, as (local port << 16 | remote port) from the pre-request callback (0: none
    /// yet), so only a read on its own connection stamps its buffers with the kernel's time (`ReceiveStamp`).
    var connection: UInt32 = 0
    var statusCode: Int = 0
    var responseStarted = false
    /// The delegate reported a first token (the loop's sweep caches it; it never goes back to false).
    var sawFirstToken = false
    var abortReason: String?
    var timeoutReason: TransferError?
    var headers = ResponseHeaders()
    var completed = false
    /// Times libcurl was about to send the request: 2 means it re-sent it on a new connection because the reused
    /// one died before a byte of the answer (a server closing idle keep-alive connections: uvicorn, under vLLM's API
    /// server, closes them after 5 s by default).
    var attempts = 0
    #if DEBUG
    /// The loop thread that started this transfer: every callback for it must run there (checked in debug builds).
    var loopThread: pthread_t?
    #endif

    /// Debug builds: traps when a callback for this transfer runs off the thread of the loop that started it (the
    /// delegate, its decoder and every timestamp assume one thread). Compiled out of release builds.
    @inline(__always) func assertOnLoopThread() {
        #if DEBUG
        if let loopThread { precondition(pthread_equal(loopThread, pthread_self()) != 0, "transfer callback off its loop thread") }
        #endif
    }

    /// Creates the easy handle. Throws if libcurl rejects an option (e.g. HTTP/2 without nghttp2).
    package init(request: TransferRequest, delegate: TransferDelegate) throws {
        guard let easy = curl_easy_init() else { throw MultiLoopError.curl("curl_easy_init failed") }
        var request = request
        let body = request.body
        request.body = nil
        self.request = request
        self.delegate = delegate
        self.easy = easy
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        // self is whole from here: if configure throws, deinit runs and frees what was allocated (freeing it here
        // too, as this did, was a double free on that path).
        try configure(body: body)
    }

    deinit {
        curl_easy_cleanup(easy)
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
        bodyBuffer?.deallocate()
    }

    private func configure(body: [UInt8]?) throws {
        try set(CURLOPT_URL, string: request.url)
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_TCP_NODELAY, 1)
        // libcurl's receive buffer: its default, 16 KiB, was most of the client's memory per stream. Token events
        // are a few hundred bytes, so 2 KiB still takes several per read; libcurl's own share per stream is then
        // ~13.4 KiB (handle 5.7, connection 5.7, buffer 2) instead of 15.4 with 4 KiB.
        try set(CURLOPT_BUFFERSIZE, 2048)
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_PRIVATE, pointer: Unmanaged.passUnretained(self).toOpaque())
        try set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(self).toOpaque())
        try check(tp_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, transferWriteCallback), CURLOPT_WRITEFUNCTION)
        try set(CURLOPT_HEADERDATA, pointer: Unmanaged.passUnretained(self).toOpaque())
        try check(tp_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, transferHeaderCallback), CURLOPT_HEADERFUNCTION)
        try set(CURLOPT_PREREQDATA, pointer: Unmanaged.passUnretained(self).toOpaque())
        try check(tp_easy_setopt_prereq_callback(easy, transferPrereqCallback), CURLOPT_PREREQFUNCTION)
        switch request.httpVersion {
        case .http1: try set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        case .http2:
            // Cleartext HTTP/2 needs prior knowledge: CURL_HTTP_VERSION_2_0 on http:// tries an h2c upgrade and
            // quietly stays on HTTP/1.1 when the server ignores it. On https:// ALPN chooses (h2, else 1.1).
            let cleartext = request.url.lowercased().hasPrefix("http://")
            try set(CURLOPT_HTTP_VERSION, Int(cleartext ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE : CURL_HTTP_VERSION_2TLS))
            // Wait for a connection that can multiplex rather than open one per stream while the first connects.
            try set(CURLOPT_PIPEWAIT, 1)
        }
        if request.insecure {
            try set(CURLOPT_SSL_VERIFYPEER, 0)
            try set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if request.freshConnection {
            try set(CURLOPT_FRESH_CONNECT, 1)
            try set(CURLOPT_FORBID_REUSE, 1)
        }
        // The connect and total timeouts are the loop's sweep's (like first-token and idle), not libcurl's: a libcurl
        // timeout keeps a node per transfer in the multi handle's splay tree, re-inserted on every socket event (at
        // 1000 streams, ~1 µs of the ~15 µs each token event cost).
        if request.method == "GET" {
            try set(CURLOPT_HTTPGET, 1)
        } else if let body {
            try set(CURLOPT_POSTFIELDSIZE_LARGE, off: curl_off_t(body.count))
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, body.count), alignment: 1)
            buffer.copyBytes(from: body)
            bodyBuffer = buffer
            try set(CURLOPT_POSTFIELDS, pointer: buffer.baseAddress)
            if request.method != "POST" { try set(CURLOPT_CUSTOMREQUEST, string: request.method) }
        } else if request.method != "POST" {
            try set(CURLOPT_CUSTOMREQUEST, string: request.method)
        }
        // "Expect:" off: a 100-continue round trip would be charged to TTFT.
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for line in request.headers { list = curl_slist_append(list, line) }
        headerList = list
        try check(tp_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list), CURLOPT_HTTPHEADER)
    }

    private func set(_ option: CURLoption, _ value: Int) throws {
        try check(tp_easy_setopt_long(easy, option, value), option)
    }
    private func set(_ option: CURLoption, off value: curl_off_t) throws {
        try check(tp_easy_setopt_off(easy, option, value), option)
    }
    private func set(_ option: CURLoption, string value: String) throws {
        // libcurl copies string options (since 7.17), so the temporary C string may go away afterwards.
        try check(tp_easy_setopt_string(easy, option, value), option)
    }
    private func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws {
        try check(tp_easy_setopt_pointer(easy, option, value), option)
    }
    private func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            throw MultiLoopError.curl("setting option \(option.rawValue) failed: \(String(cString: curl_easy_strerror(code)))")
        }
    }

    /// The detailed message libcurl left in the error buffer, or its generic text for `code`.
    func errorMessage(for code: CURLcode) -> String {
        let detail = String(cString: errorBuffer)
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    func readTimings() -> TransferTimings {
        var timings = TransferTimings()
        var value: curl_off_t = 0
        if tp_easy_getinfo_off(easy, CURLINFO_NAMELOOKUP_TIME_T, &value) == CURLE_OK { timings.nameLookupUs = Int64(value) }
        if tp_easy_getinfo_off(easy, CURLINFO_CONNECT_TIME_T, &value) == CURLE_OK { timings.connectUs = Int64(value) }
        if tp_easy_getinfo_off(easy, CURLINFO_APPCONNECT_TIME_T, &value) == CURLE_OK { timings.tlsUs = Int64(value) }
        if tp_easy_getinfo_off(easy, CURLINFO_STARTTRANSFER_TIME_T, &value) == CURLE_OK {
            timings.firstByteUs = Int64(value)
        }
        if tp_easy_getinfo_off(easy, CURLINFO_TOTAL_TIME_T, &value) == CURLE_OK { timings.totalUs = Int64(value) }
        var version: Int = 0
        if tp_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK {
            switch version {
            case Int(CURL_HTTP_VERSION_1_0): timings.httpVersion = "1.0"
            case Int(CURL_HTTP_VERSION_1_1): timings.httpVersion = "1.1"
            case Int(CURL_HTTP_VERSION_2_0): timings.httpVersion = "2"
            case Int(CURL_HTTP_VERSION_3): timings.httpVersion = "3"
            default: break
            }
        }
        var connects: Int = 0
        if tp_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK { timings.reusedConnection = connects == 0 }
        return timings
    }

    /// Reads the status code once the first header or body byte proves the response has started.
    fileprivate func startResponseIfNeeded() {
        guard !responseStarted else { return }
        responseStarted = true
        var code: Int = 0
        _ = tp_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
        statusCode = code
        delegate.transferDidReceiveResponse(status: code, headers: headers)
    }

    fileprivate func consumeHeader(_ line: UnsafeRawBufferPointer) {
        // Only three headers matter; compare case-insensitively without building Strings for the others.
        if line.count > 13, hasPrefix(line, "content-type:") {
            headers.contentType = headerValue(line, after: 13)
        } else if line.count > 12, hasPrefix(line, "retry-after:") {
            headers.retryAfter = headerValue(line, after: 12)
        } else if line.count > 15, hasPrefix(line, "content-length:") {
            headers.contentLength = headerValue(line, after: 15)
        } else if line.count > 5, hasPrefix(line, "http/") {
            // A new status line (e.g. after a 100 Continue or redirect) resets what we collected.
            headers = ResponseHeaders()
        }
    }

    private func hasPrefix(_ line: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        let p = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        for i in 0..<p.count {
            var c = line[i]
            if c >= 65 && c <= 90 { c += 32 }
            if c != p[i] { return false }
        }
        return true
    }

    private func headerValue(_ line: UnsafeRawBufferPointer, after offset: Int) -> String {
        let end = min(line.count, offset + ResponseHeaders.maxValueBytes)
        let value = String(decoding: line[offset..<end], as: UTF8.self)
        return value.trimmingWhitespace()
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let f = scalars.first, f.isWhitespace { scalars.removeFirst() }
        while let l = scalars.last, l.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

/// libcurl's write callback: stamps the buffer with its receive time (`ReceiveStamp`), then decodes it.
private let transferWriteCallback: tp_data_callback = { pointer, size, count, userdata in
    let length = size * count
    guard let userdata, let pointer else { return length }
    // The loop keeps the transfer alive while libcurl holds its pointer, so it is used without a retain and
    // release per buffer (they were ~2% of the loop's time at 1000 streams).
    return Unmanaged<Transfer>.fromOpaque(userdata)._withUnsafeGuaranteedRef { transfer in
        transfer.assertOnLoopThread()
        // Never before the transfer started (a stamp from the wake-up that started it).
        let receivedAt = max(transfer.startedAt, transfer.stamp?.pointee.take(connection: transfer.connection) ?? tp_monotonic_ns())
        transfer.lastReceiveAt = receivedAt
        transfer.startResponseIfNeeded()
        let verdict = transfer.delegate.transferDidReceive(UnsafeRawBufferPointer(start: pointer, count: length),
                                                           receivedAt: receivedAt)
        switch verdict {
        case .proceed:
            return length
        case .abort(let reason):
            transfer.abortReason = reason
            return 0  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
        }
    }
}

/// Called once per attempt to send the request (after connecting or picking a pooled connection); counting the
/// calls is how a retry by libcurl becomes visible. Returns CURL_PREREQFUNC_OK.
private let transferPrereqCallback: tp_prereq_callback = { clientp, _, _, primaryPort, localPort in
    guard let clientp else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(clientp).takeUnretainedValue()
    transfer.assertOnLoopThread()
    transfer.attempts += 1
    transfer.connection = UInt32(UInt16(truncatingIfNeeded: localPort)) << 16 | UInt32(UInt16(truncatingIfNeeded: primaryPort))
    return 0
}

private let transferHeaderCallback: tp_data_callback = { pointer, size, count, userdata in
    let length = size * count
    guard let userdata, let pointer else { return length }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.assertOnLoopThread()
    transfer.lastReceiveAt = max(transfer.startedAt, transfer.stamp?.pointee.takeForHeader(connection: transfer.connection) ?? tp_monotonic_ns())
    let line = UnsafeRawBufferPointer(start: pointer, count: length)
    if length <= 2 {
        // The blank line ending the header block: a final (non-1xx) response has begun.
        var code: Int = 0
        _ = tp_easy_getinfo_long(transfer.easy, CURLINFO_RESPONSE_CODE, &code)
        if code >= 200 { transfer.startResponseIfNeeded() }
    } else {
        transfer.consumeHeader(line)
    }
    return length
}
