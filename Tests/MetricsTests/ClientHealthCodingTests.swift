import Foundation
import Metrics
import Testing

/// result.json's client health names the client's loops `loops`; results written before the rename said `engines`.
@Suite struct ClientHealthCodingTests {
    @Test func olderResultsWithEnginesStillReadAndNewOnesSayLoops() throws {
        let older = #"{"engines":[{"index":0,"cpuShare":0.5,"loopLagP99Us":10,"loopLagMaxUs":20,"socketEvents":3}],"#
            + #""processCPUShare":0.6,"maxResidentMiB":12,"eventsPerSecond":100,"warnings":["w"]}"#
        let health = try JSONDecoder().decode(ClientHealth.self, from: Data(older.utf8))
        #expect(health.loops.count == 1)
        #expect(health.loops.first?.cpuShare == 0.5 && health.loops.first?.loopLagMaxUs == 20)
        #expect(health.processCPUShare == 0.6 && health.warnings == ["w"] && health.readWaitP99Ms == nil)
        let written = String(decoding: try JSONEncoder().encode(health), as: UTF8.self)
        #expect(written.contains(#""loops""#) && !written.contains(#""engines""#))
        #expect(try JSONDecoder().decode(ClientHealth.self, from: Data(written.utf8)) == health)
    }
}
