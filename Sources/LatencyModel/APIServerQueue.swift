/// One replica's API server, which takes one request at a time (`ReplicaSpec.apiServerCost`): `FleetSimulation` and
/// the mock hand their requests to the engine through it, so they queue alike.
package struct APIServerQueue: Sendable {
    /// When the server is free to take the next request.
    package private(set) var freeAt: Double = 0

    package init() {}

    /// When a request that arrives at `time` reaches the engine: `overhead` after the server takes it (at once, unless
    /// it is still busy with earlier ones), which keeps the server busy for `serial` of that.
    package mutating func handOff(at time: Double, overhead: Double, serial: Double) -> Double {
        let taken = max(time, freeAt)
        freeAt = taken + serial
        return taken + overhead
    }
}
