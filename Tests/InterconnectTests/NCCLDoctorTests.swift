import Foundation
import Testing

@testable import Interconnect

private func fixture(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return String(decoding: try Data(contentsOf: url), as: UTF8.self)
}

private let fixtureNames = [
    "socket-tp4-vllm-v1.log", "socket-2node-interleaved.log", "p2p-ipc-tp2-vllm-v0.log", "p2p-cumem-tp4-nvlink.log",
    "p2p-direct-pointer.log", "shm-tp4-p2p-disabled.log", "ib-gdrdma-2node-ray.log", "ib-no-gdr-2node.log",
]

struct Expectation: Sendable, CustomTestStringConvertible {
    var file: String
    var transport: NCCLTransport
    var preset: String
    var ranks: Int
    var nodes: Int
    var version: String
    var customAllReduceOff: Bool
    var testDescription: String { file }
}

@Suite struct NCCLDoctorTests {
    static let expectations: [Expectation] = [
        .init(file: "socket-tp4-vllm-v1.log", transport: .socket, preset: "tcp-10g", ranks: 4, nodes: 1,
              version: "2.21.5+cuda12.4", customAllReduceOff: true),
        .init(file: "socket-2node-interleaved.log", transport: .socket, preset: "tcp-10g", ranks: 2, nodes: 2,
              version: "2.21.5", customAllReduceOff: true),
        .init(file: "p2p-ipc-tp2-vllm-v0.log", transport: .p2pIPC, preset: "pcie4-p2p", ranks: 2, nodes: 1,
              version: "2.20.5+cuda12.4", customAllReduceOff: false),
        .init(file: "p2p-cumem-tp4-nvlink.log", transport: .p2pCUMEM, preset: "nvlink4", ranks: 4, nodes: 1,
              version: "2.26.2+cuda12.8", customAllReduceOff: false),
        .init(file: "p2p-direct-pointer.log", transport: .p2pDirect, preset: "pcie4-p2p", ranks: 4, nodes: 1,
              version: "2.7.8+cuda11.0", customAllReduceOff: false),
        .init(file: "shm-tp4-p2p-disabled.log", transport: .shm, preset: "pcie-no-p2p", ranks: 4, nodes: 1,
              version: "2.21.5+cuda12.4", customAllReduceOff: true),
        .init(file: "ib-gdrdma-2node-ray.log", transport: .ibGDRDMA, preset: "ib-ndr", ranks: 4, nodes: 2,
              version: "2.26.2+cuda12.8", customAllReduceOff: true),
        .init(file: "ib-no-gdr-2node.log", transport: .ib, preset: "ib-ndr", ranks: 4, nodes: 2,
              version: "2.18.1+cuda12.1", customAllReduceOff: false),
    ]

    @Test(arguments: expectations)
    func classifiesEachFixture(_ expected: Expectation) throws {
        let log = NCCLLogParser.parse([try fixture(expected.file)])
        let diagnosis = NCCLDoctor.diagnose(log)
        #expect(diagnosis.transport == expected.transport)
        #expect(diagnosis.linkPreset == expected.preset)
        #expect(log.ranks == expected.ranks)
        #expect(log.nodes == expected.nodes)
        #expect(log.ncclVersion == expected.version)
        #expect((log.customAllReduceDisabled != nil) == expected.customAllReduceOff)
        #expect(log.unreadableLines == 0)
        #expect(!log.links.isEmpty)
        // The preset named must exist, or `tpbench mock --link` would reject it.
        #expect(["nvlink4", "pcie4-p2p", "pcie-no-p2p", "ib-ndr", "tcp-100g", "tcp-10g", "pcie-degraded"]
            .contains(expected.preset))
    }

    @Test func socketVerdictStatesTheCostInPlainWords() throws {
        let diagnosis = NCCLDoctor.diagnose(NCCLLogParser.parse([try fixture("socket-tp4-vllm-v1.log")]), layers: 48)
        #expect(diagnosis.verdict.hasPrefix("all-reduce over TCP sockets: expect ~0.1–0.6 ms per call"))
        #expect(diagnosis.verdict.contains("a TP=4 decode step of a 48-layer model does 96 of them"))
        #expect(diagnosis.callsPerDecodeStep == 96)
        #expect(diagnosis.log.customAllReduceDisabled == "it's not supported on more than two PCIe-only GPUs")
        #expect(diagnosis.log.environment["NCCL_SHM_DISABLE"] == "1")
        #expect(diagnosis.log.network == "Socket")
        #expect(diagnosis.log.interfaces == ["[0]eth0:10.128.0.17<0>"])
        let text = NCCLDoctor.render(diagnosis, files: ["socket-tp4-vllm-v1.log"])
        #expect(text.contains("tpbench mock --link tcp-10g --tp 4"))
        #expect(text.contains("| 0 | 1 | NET/Socket |"))
    }

    @Test func peerPairsAndTopologyFromInterleavedRanks() throws {
        let log = NCCLLogParser.parse([try fixture("socket-tp4-vllm-v1.log")])
        let pairs = log.transportByPair.map { "\($0.from)->\($0.to)" }
        #expect(pairs == ["0->1", "1->0", "1->2", "2->1", "2->3", "3->0", "3->2"])
        #expect(log.rings.map(\.channel) == [0, 1])
        #expect(log.rings.first?.ranks == [0, 1, 2, 3])
        #expect(log.trees.count == 2)
        #expect(log.hosts == ["gpu-box-7"])
        // Channels 0 and 1 of the ring hop 0 -> 1 are two links, not one.
        #expect(log.links.filter { $0.fromRank == 0 && $0.toRank == 1 }.map(\.channel) == [0, 1])
    }

    @Test func sendAndReceiveSidesOfOneHopAreOneLink() throws {
        let log = NCCLLogParser.parse([try fixture("socket-2node-interleaved.log")])
        #expect(log.links.count == 3)
        #expect(log.hosts.sorted() == ["cloud-a", "cloud-b"])
        #expect(log.warnings.count == 1)
        let diagnosis = NCCLDoctor.diagnose(log)
        #expect(diagnosis.findings.contains { $0.contains("spans 2 nodes") })
        #expect(diagnosis.findings.contains { $0.contains("NCCL_IB_DISABLE=1") })
    }

    @Test func nvlinkIsRecognisedFromGraphPathTypes() throws {
        let nvlink = NCCLDoctor.diagnose(NCCLLogParser.parse([try fixture("p2p-cumem-tp4-nvlink.log")]))
        #expect(nvlink.nvlink == true)
        #expect(nvlink.verdict.contains("NVLink"))
        let unknown = NCCLDoctor.diagnose(NCCLLogParser.parse([try fixture("p2p-ipc-tp2-vllm-v0.log")]))
        #expect(unknown.nvlink == nil)
        #expect(unknown.findings.contains { $0.contains("does not say whether P2P runs over NVLink") })
    }

    @Test func directPointerKeepsItsSpacedName() throws {
        let log = NCCLLogParser.parse([try fixture("p2p-direct-pointer.log")])
        #expect(log.links.allSatisfy { $0.via == "P2P/direct pointer" })
        #expect(log.links.count == 10)
    }

    @Test func logsOfSeveralFilesMerge() throws {
        let text = try fixture("ib-no-gdr-2node.log")
        let lines = text.split(separator: "\n")
        let node0 = lines.filter { $0.contains("node0:") }.joined(separator: "\n")
        let node1 = lines.filter { !$0.contains("node0:") }.joined(separator: "\n")
        let merged = NCCLLogParser.parse([node0, node1])
        let whole = NCCLLogParser.parse([text])
        #expect(Set(merged.links) == Set(whole.links))
        #expect(merged.hosts.sorted() == ["node0", "node1"])
    }

    @Test func emptyAndUnrelatedInputGetAHelpfulVerdict() {
        let empty = NCCLDoctor.diagnose(NCCLLogParser.parse([""]))
        #expect(empty.transport == nil)
        #expect(empty.verdict.contains("NCCL_DEBUG=INFO"))
        let initOnly = NCCLDoctor.diagnose(NCCLLogParser.parse(["h:1:1 [0] NCCL INFO NCCL version 2.21.5+cuda12.4"]))
        #expect(initOnly.verdict.contains("Channel"))
        #expect(initOnly.log.ncclVersion == "2.21.5+cuda12.4")
    }

    @Test func garbledChannelLinesAreCountedNotFatal() {
        let lines = [
            "h:1:1 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via NET/Socket/0",
            "h:1:1 [0] NCCL INFO Channel xx/0 : 0[0] -> 1[1] via NET/Socket/0",
            "h:1:1 [0] NCCL INFO Channel 01/0 : 0[0] -> ",
            "h:1:1 [0] NCCL INFO Channel 02/0 : 0[0] -> 1[1] via WARP/DRIVE",
            "h:1:1 [0] NCCL INFO Channel",
            "h:1:1 [0] NCCL INFO comm 0x1 rank 0 nRanks 99999999999999999999999 nNodes 1",
        ]
        let log = NCCLLogParser.parse([lines.joined(separator: "\n")])
        #expect(log.links.count == 1)
        #expect(log.unreadableLines >= 3)
    }

    /// Random truncations, byte flips and line shuffles of every fixture: the parser and the doctor must never
    /// trap, and what they return must render.
    @Test(arguments: fixtureNames)
    func survivesTruncationAndGarbling(_ name: String) throws {
        let bytes = Array(try fixture(name).utf8)
        var generator = SplitMix(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        for round in 0..<200 {
            var mutated = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count + 1))))
            if round % 2 == 1, !mutated.isEmpty {
                for _ in 0..<(1 + Int(generator.next() % 20)) {
                    let index = Int(generator.next() % UInt64(mutated.count))
                    mutated[index] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            if round % 5 == 0, mutated.count > 10 {
                let cut = Int(generator.next() % UInt64(mutated.count))
                mutated.removeSubrange(cut..<min(mutated.count, cut + Int(generator.next() % 40)))
            }
            let text = String(decoding: mutated, as: UTF8.self)
            let diagnosis = NCCLDoctor.diagnose(NCCLLogParser.parse([text]), layers: 1 + round % 80)
            #expect(!NCCLDoctor.render(diagnosis, files: [name]).isEmpty)
            #expect(!diagnosis.verdict.isEmpty)
        }
    }
}

/// Seeded generator, so a failing round can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct NCCLLineEndingTests {
    /// Logs copied from Windows terminals arrive with CRLF, which Swift treats as one Character.
    @Test func crlfLogsParseLikeLF() throws {
        let lf = try fixture("socket-tp4-vllm-v1.log")
        let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(NCCLLogParser.parse([crlf]).links == NCCLLogParser.parse([lf]).links)
        #expect(NCCLLogParser.parse([crlf]).linesRead == NCCLLogParser.parse([lf]).linesRead)
    }
}
