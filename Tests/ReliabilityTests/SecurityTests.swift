import Foundation
import Testing

/// Secrets stay secret, TLS is verified by default, the mock warns when exposed, texts are kept only on request.
@Suite(.serialized)
struct SecurityTests {
    typealias R = FaultResponses

    static func server() async throws -> FaultServer {
        try await FaultServer.start { request, _ in
            // Request 1 fails so an error message path is exercised as well.
            request == 1 ? R.json(#"{"error":{"message":"bad key?"}}"#, status: "401 Unauthorized")
                : [R.head()] + R.tokens(3) + [R.event("[DONE]"), .close]
        }
    }

    /// Every file under `directory` plus stdout and stderr, as text.
    func everything(_ directory: URL, _ outputs: [String]) -> [(String, String)] {
        let files = (try? FileManager.default.subpathsOfDirectory(atPath: directory.path)) ?? []
        return files.map { name in
            (name, String(decoding: FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
                          ?? Data(), as: UTF8.self))
        } + outputs.enumerated().map { ("output \($0.offset)", $0.element) }
    }

    enum KeySource: String, CaseIterable { case environment, file, flag }

    @Test(arguments: KeySource.allCases)
    func apiKeyNeverReachesAnyOutput(source: KeySource) async throws {
        let server = try await Self.server()
        defer { Task { await server.shutdown() } }
        let secret = "sk-tpbench-\(source.rawValue)-SECRET-\(UInt32.random(in: 1000...9999))"
        let out = temporaryDirectory("key")
        var arguments = ["run", "--url", server.baseURL, "--concurrency", "2", "--requests", "6", "--prompt-tokens", "8",
                         "--max-tokens", "3", "--no-server-metrics", "--out", out.path, "--save-outputs"]
        var environment: [String: String] = [:]
        switch source {
        case .environment: environment["OPENAI_API_KEY"] = secret
        case .file:
            let file = temporaryDirectory("keyfile")
            try Data((secret + "\n").utf8).write(to: file)
            arguments += ["--api-key-file", file.path]
        case .flag: arguments += ["--api-key", secret]
        }
        let r = try await CLIProcess.run(arguments, environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        if source == .flag { #expect(r.stderr.contains("warning: --api-key puts the key in your shell history")) }
        let all = everything(out, [r.stdout, r.stderr])
        #expect(all.count >= 8, "\(all.map(\.0))")
        for (name, text) in all {
            #expect(!text.contains(secret), "the API key leaked into \(name)")
            #expect(!text.contains(String(secret.suffix(12))), "part of the API key leaked into \(name)")
        }
        // The key is sent to the server, which is where it belongs.
        #expect(server.counters.requests == 6)
    }

    @Test func outputsAreStoredOnlyWithSaveOutputs() async throws {
        let server = try await FaultServer.start { _, _ in
            [R.head(), R.event(R.chunk("PRIVATE-ANSWER-9931", finish: "stop")), R.event("[DONE]"), .close]
        }
        defer { Task { await server.shutdown() } }
        for save in [false, true] {
            let out = temporaryDirectory("save")
            let r = try await CLIProcess.run(
                ["run", "--url", server.baseURL, "--concurrency", "2", "--requests", "4", "--prompt-tokens", "8",
                 "--max-tokens", "3", "--no-server-metrics", "--quiet", "--out", out.path] + (save ? ["--save-outputs"] : []))
            #expect(r.status == 0, "\(r.stderr)")
            let holders = everything(out, [r.stdout, r.stderr]).filter { $0.1.contains("PRIVATE-ANSWER-9931") }.map(\.0)
            if save {
                #expect(holders.contains("requests.jsonl"), "--save-outputs must keep the texts: \(holders)")
            } else {
                #expect(holders.isEmpty, "texts stored without --save-outputs in \(holders)")
            }
        }
    }

    @Test func mockWarnsWhenNotOnLoopback() async throws {
        // 192.0.2.1 (TEST-NET-1) is never a local address: the warning is printed, then binding fails cleanly,
        // so nothing is ever exposed by this test.
        let r = try await CLIProcess.run(["mock", "--host", "192.0.2.1", "--port", "0"], seconds: 10)
        #expect(r.stderr.contains("not loopback"), "\(r.stderr)")
        #expect(r.status != 0 && r.status != nil)
        expectNoCrash(r.stderr)
    }

    @Test func tlsCertificatesAreVerifiedByDefault() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { return }
        let dir = temporaryDirectory("tls")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let key = dir.appendingPathComponent("key.pem").path, cert = dir.appendingPathComponent("cert.pem").path
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        make.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1",
                          "-keyout", key, "-out", cert]
        make.standardError = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        let port = try closedPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-www", "-quiet"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL and reap: a full-suite run once left an s_server behind after SIGTERM.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let url = "https://127.0.0.1:\(port)"
        #expect(await eventually(5) { (try? connectable(port: port)) == true })
        let verified = try await CLIProcess.run(["run", "--url", url, "--requests", "1", "--quiet",
                                                 "--out", dir.appendingPathComponent("a").path])
        #expect(verified.status == 3, "\(verified.stderr)")
        #expect(verified.stderr.lowercased().contains("certificate"), "\(verified.stderr)")
        // --insecure gets past TLS, to find that s_server is no OpenAI server.
        let insecure = try await CLIProcess.run(["run", "--url", url, "--requests", "1", "--quiet", "--insecure",
                                                 "--out", dir.appendingPathComponent("b").path])
        #expect(insecure.status == 3, "\(insecure.stderr)")
        #expect(!insecure.stderr.lowercased().contains("certificate"), "\(insecure.stderr)")
        #expect(insecure.stderr.contains("/v1/models"))
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:port.
func connectable(port: Int) throws -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
