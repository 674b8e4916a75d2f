import LatencyModel
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import ThreadPriority

/// A vLLM look-alike on loopback: R independent schedulers (replicas) on consecutive ports.
///
/// Each replica has its own one-thread event loop that accepts its connections and runs its step loop, so
/// emission needs no thread hops and the replica uses at most one core. Safe to start in-process next to a
/// client: no global state, nothing blocks the caller.
package final class MockServer: Sendable {
    /// The bound ports, one per replica, consecutive.
    package let ports: [Int]
    package let host: String
    private let groups: [MultiThreadedEventLoopGroup]
    private let serverChannels: [Channel]
    private let schedulers: [ReplicaScheduler]

    /// `http://HOST:PORT` per replica.
    package var baseURLs: [String] {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return ports.map { "http://\(shownHost):\($0)" }
    }

    private init(
        ports: [Int], host: String, groups: [MultiThreadedEventLoopGroup], serverChannels: [Channel],
        schedulers: [ReplicaScheduler]
    ) {
        self.ports = ports
        self.host = host
        self.groups = groups
        self.serverChannels = serverChannels
        self.schedulers = schedulers
    }

    /// Binds every replica and starts serving.
    /// - Throws: `MockConfigurationError` for a configuration that cannot run or ports that cannot be bound.
    package static func start(_ config: MockConfiguration) async throws -> MockServer {
        if let problem = config.validationProblem() { throw MockConfigurationError(problem) }
        var lastError: Error? = nil
        // With port 0 the first replica's port is the kernel's choice; the next ones may be taken, so retry.
        let attempts = config.port == 0 && config.replicas > 1 ? 20 : 1
        for _ in 0..<attempts {
            var groups: [MultiThreadedEventLoopGroup] = []
            var channels: [Channel] = []
            var schedulers: [ReplicaScheduler] = []
            do {
                var base = config.port
                for replica in 0..<config.replicas {
                    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
                    groups.append(group)
                    let scheduler = ReplicaScheduler(replica: replica, eventLoop: group.next(), config: config)
                    schedulers.append(scheduler)
                    let port = replica == 0 ? base : base + replica
                    let channel = try await bootstrap(group: group, scheduler: scheduler)
                        .bind(host: config.host, port: port).get()
                    channels.append(channel)
                    if replica == 0 { base = channel.localAddress?.port ?? port }
                }
                let ports = channels.map { $0.localAddress?.port ?? 0 }
                return MockServer(
                    ports: ports, host: config.host, groups: groups, serverChannels: channels, schedulers: schedulers)
            } catch {
                lastError = error
                for channel in channels { try? await channel.close() }
                for group in groups { try? await group.shutdownGracefully() }
            }
        }
        throw MockConfigurationError(
            "could not bind \(config.replicas) consecutive port(s) on \(config.host) from port \(config.port): "
                + "\(lastError.map { "\($0)" } ?? "unknown error"); choose another --port or --host")
    }

    private static func bootstrap(group: MultiThreadedEventLoopGroup, scheduler: ReplicaScheduler) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                // The group has one loop, so every connection lands on the scheduler's loop.
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ProtocolSniffer(
                        http1: { channel in
                            // The raw writer sits at the socket end, before the encoder, so framed chunks skip it.
                            let raw = RawChunkWriter()
                            try channel.pipeline.syncOperations.addHandler(raw)
                            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                            try channel.pipeline.syncOperations.addHandler(HTTPHandler(scheduler: scheduler, raw: raw))
                        },
                        http2: { channel in
                            // h2c with prior knowledge: each stream gets the HTTP/1 view of its frames and a handler.
                            _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                                mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                            ) { stream in
                                stream.eventLoop.makeCompletedFuture {
                                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                    try stream.pipeline.syncOperations.addHandler(HTTPHandler(scheduler: scheduler, raw: nil))
                                }
                            }
                        }))
                }
            }
    }

    /// Puts each replica's event loop (its step loop and every write) under SCHED_FIFO priority 1, so a load
    /// generator sharing the machine cannot delay emissions by taking the core. Needs root or CAP_SYS_NICE.
    /// The loop blocks in epoll between ticks, and Linux keeps 5 % of each core for normal threads anyway.
    /// - Returns: nil when every loop runs real-time, else why not (the loops keep their normal priority).
    package func enableRealtimeScheduling() async -> String? {
        for scheduler in schedulers {
            let problem: String?
            do {
                problem = try await scheduler.eventLoop.submit { RealtimeScheduling.enterForCurrentThread() }.get()
            } catch {
                return "the replica's event loop did not answer"
            }
            if let problem { return problem }
        }
        return nil
    }

    /// The lateness of each replica's own emissions against the simulated schedule.
    package func emissionLateness() async -> [EmissionLateness] {
        var result: [EmissionLateness] = []
        for scheduler in schedulers {
            let summary = try? await scheduler.eventLoop.submit { scheduler.lateness.summary(replica: scheduler.replica) }.get()
            result.append(summary ?? EmissionLateness(replica: scheduler.replica, emissions: 0, p50: 0, p99: 0, p999: 0, max: 0))
        }
        return result
    }

    /// Requests each replica holds (running, waiting or stalled before their first token); for tests.
    package func inFlightRequests() async -> [Int] {
        var result: [Int] = []
        for scheduler in schedulers {
            result.append((try? await scheduler.eventLoop.submit { scheduler.requests.count }.get()) ?? 0)
        }
        return result
    }

    /// Stops accepting, closes every connection and stops the replicas' threads.
    package func shutdown() async throws {
        for channel in serverChannels { try? await channel.close() }
        for group in groups { try await group.shutdownGracefully() }
    }
}
