import Foundation
import JSON

/// JSON Schema's primitive types as a bit set, so `type` checks are one AND.
struct TypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeSet(rawValue: 1 << 0)
    static let boolean = TypeSet(rawValue: 1 << 1)
    static let object = TypeSet(rawValue: 1 << 2)
    static let array = TypeSet(rawValue: 1 << 3)
    static let number = TypeSet(rawValue: 1 << 4)
    static let string = TypeSet(rawValue: 1 << 5)
    static let integer = TypeSet(rawValue: 1 << 6)

    static let byName: [String: TypeSet] = [
        "null": .null, "boolean": .boolean, "object": .object, "array": .array, "number": .number,
        "string": .string, "integer": .integer,
    ]
}

/// A compiled regular expression. NSRegularExpression is immutable and documented as safe to share across
/// threads, which is why the wrapper may claim Sendable.
struct CompiledPattern: @unchecked Sendable {
    let source: String
    let regex: NSRegularExpression

    /// Unanchored search, as the spec says (`"a"` matches `"xax"`).
    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, options: [], range: NSRange(text.startIndex..., in: text)) != nil
    }
}

/// One compiled (sub)schema. Subschemas are referred to by index into `JSONSchema.nodes`, which lets `$ref`
/// form cycles without reference types.
struct SchemaNode: Sendable {
    /// JSON pointer of this subschema in the schema document, for error reports.
    var location: String
    /// Set for boolean schemas (`true` accepts everything, `false` nothing).
    var constantResult: Bool?
    var ref: Int?
    var types: TypeSet?
    var enumValues: [JSONValue]?
    var constValue: JSONValue?
    var minimum: Double?
    var maximum: Double?
    var exclusiveMinimum: Double?
    var exclusiveMaximum: Double?
    var multipleOf: Double?
    var minLength: Int?
    var maxLength: Int?
    var pattern: CompiledPattern?
    var prefixItems: [Int] = []
    var items: Int?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
    var properties: [String: Int] = [:]
    var patternProperties: [(pattern: CompiledPattern, schema: Int)] = []
    var additionalProperties: Int?
    var propertyNames: Int?
    var required: [String] = []
    var minProperties: Int?
    var maxProperties: Int?
    var allOf: [Int] = []
    var anyOf: [Int] = []
    var oneOf: [Int] = []
    var not: Int?

    init(location: String) { self.location = location }

    /// Subschemas applied to the same instance (not to a child); a cycle through these never terminates.
    var inPlaceChildren: [Int] {
        var children = allOf + anyOf + oneOf
        if let ref { children.append(ref) }
        if let not { children.append(not) }
        return children
    }
}

/// Turns a schema document into `SchemaNode`s, resolving local `$ref`s by JSON pointer.
struct SchemaCompiler {
    let root: JSONValue
    private(set) var nodes: [SchemaNode] = []
    /// Compiled subschemas by location, so a `$ref` target is compiled once and recursion finds its placeholder.
    private var indexByLocation: [String: Int] = [:]

    init(root: JSONValue) { self.root = root }

    mutating func compile(_ schema: JSONValue, at location: String) throws(SchemaError) -> Int {
        if let existing = indexByLocation[location] { return existing }
        let index = nodes.count
        nodes.append(SchemaNode(location: location))
        indexByLocation[location] = index
        var node = SchemaNode(location: location)
        switch schema {
        case .bool(let result):
            node.constantResult = result
        case .object(let object):
            for (keyword, value) in object.entries {
                try compileKeyword(keyword, value, into: &node, at: location + "/" + JSONPointer.escape(keyword))
            }
        default:
            throw SchemaError(message: "a schema must be an object or a boolean", schemaPath: location)
        }
        nodes[index] = node
        return index
    }

    // One switch over every keyword keeps "what is supported" readable in one place.
    private mutating func compileKeyword(
        _ keyword: String, _ value: JSONValue, into node: inout SchemaNode, at path: String
    ) throws(SchemaError) {
        switch keyword {
        case "type":
            node.types = try typeSet(value, at: path)
        case "enum":
            guard case .array(let values) = value else {
                throw SchemaError(message: "must be an array", schemaPath: path)
            }
            node.enumValues = values
        case "const":
            node.constValue = value
        case "minimum": node.minimum = try number(value, at: path)
        case "maximum": node.maximum = try number(value, at: path)
        case "exclusiveMinimum": node.exclusiveMinimum = try number(value, at: path)
        case "exclusiveMaximum": node.exclusiveMaximum = try number(value, at: path)
        case "multipleOf":
            let divisor = try number(value, at: path)
            guard divisor > 0 else { throw SchemaError(message: "must be greater than 0", schemaPath: path) }
            node.multipleOf = divisor
        case "minLength": node.minLength = try count(value, at: path)
        case "maxLength": node.maxLength = try count(value, at: path)
        case "pattern": node.pattern = try pattern(value, at: path)
        case "items":
            if case .array = value {
                throw SchemaError(message: "array-form items is pre-2020-12; use prefixItems", schemaPath: path)
            }
            node.items = try compile(value, at: path)
        case "prefixItems": node.prefixItems = try schemaArray(value, at: path)
        case "minItems": node.minItems = try count(value, at: path)
        case "maxItems": node.maxItems = try count(value, at: path)
        case "uniqueItems":
            guard case .bool(let unique) = value else {
                throw SchemaError(message: "must be a boolean", schemaPath: path)
            }
            node.uniqueItems = unique
        case "properties":
            for (name, subschema) in try schemaMap(value, at: path) {
                node.properties[name] = try compile(subschema, at: path + "/" + JSONPointer.escape(name))
            }
        case "patternProperties":
            for (source, subschema) in try schemaMap(value, at: path) {
                let subPath = path + "/" + JSONPointer.escape(source)
                let compiled = try pattern(.string(source), at: subPath)
                node.patternProperties.append((compiled, try compile(subschema, at: subPath)))
            }
        case "additionalProperties": node.additionalProperties = try compile(value, at: path)
        case "propertyNames": node.propertyNames = try compile(value, at: path)
        case "required":
            guard case .array(let names) = value else {
                throw SchemaError(message: "must be an array", schemaPath: path)
            }
            node.required = try names.map { (name) throws(SchemaError) -> String in
                guard case .string(let text) = name else {
                    throw SchemaError(message: "must contain only strings", schemaPath: path)
                }
                return text
            }
        case "minProperties": node.minProperties = try count(value, at: path)
        case "maxProperties": node.maxProperties = try count(value, at: path)
        case "allOf": node.allOf = try schemaArray(value, at: path, nonEmpty: true)
        case "anyOf": node.anyOf = try schemaArray(value, at: path, nonEmpty: true)
        case "oneOf": node.oneOf = try schemaArray(value, at: path, nonEmpty: true)
        case "not": node.not = try compile(value, at: path)
        case "$ref": node.ref = try resolveReference(value, at: path)
        case "$defs", "definitions":
            // Compiled even when unreferenced, so a broken definition fails at once rather than on first use.
            for (name, subschema) in try schemaMap(value, at: path) {
                _ = try compile(subschema, at: path + "/" + JSONPointer.escape(name))
            }
        case "$id":
            // An `$id` below the root starts an embedded resource with its own base URI; resolving `$ref`s
            // against it is out of scope, so such schemas are refused rather than resolved wrongly.
            guard node.location.isEmpty else {
                throw SchemaError(message: "$id in a subschema (embedded resource) is not supported", schemaPath: path)
            }
        case _ where JSONSchema.unsupportedKeywords.contains(keyword):
            throw SchemaError(message: "keyword \"\(keyword)\" is not supported", schemaPath: path)
        default:
            // Annotations and names no draft defines (2020-12 §4.3.1: unknown keywords are ignored).
            break
        }
    }

    private mutating func resolveReference(_ value: JSONValue, at path: String) throws(SchemaError) -> Int {
        guard case .string(let reference) = value else {
            throw SchemaError(message: "must be a string", schemaPath: path)
        }
        guard reference.hasPrefix("#") else {
            throw SchemaError(
                message: "only local $refs (\"#...\") are supported, not \"\(reference)\"", schemaPath: path)
        }
        guard let pointer = String(reference.dropFirst()).removingPercentEncoding,
            pointer.isEmpty || pointer.hasPrefix("/")
        else {
            throw SchemaError(
                message: "$ref \"\(reference)\" is not a JSON pointer (anchors are not supported)", schemaPath: path)
        }
        guard let target = JSONPointer.resolve(pointer, in: root) else {
            throw SchemaError(message: "$ref \"\(reference)\" does not resolve", schemaPath: path)
        }
        return try compile(target, at: pointer)
    }

    /// Throws if some subschema reaches itself through `$ref`/`allOf`/`anyOf`/`oneOf`/`not` alone: validating it
    /// would recurse forever on the same instance.
    func rejectInPlaceCycles() throws(SchemaError) {
        enum Mark { case visiting, done }
        var marks = [Mark?](repeating: nil, count: nodes.count)
        for start in nodes.indices where marks[start] == nil {
            // Iterative DFS: (node, next child position).
            var stack: [(node: Int, child: Int)] = [(start, 0)]
            marks[start] = .visiting
            while let (current, position) = stack.last {
                let children = nodes[current].inPlaceChildren
                guard position < children.count else {
                    marks[current] = .done
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].child += 1
                let child = children[position]
                switch marks[child] {
                case .visiting:
                    throw SchemaError(
                        message: "$ref cycle that never descends into the instance", schemaPath: nodes[child].location)
                case .done: continue
                case nil:
                    marks[child] = .visiting
                    stack.append((child, 0))
                }
            }
        }
    }

    private func typeSet(_ value: JSONValue, at path: String) throws(SchemaError) -> TypeSet {
        let names: [JSONValue]
        if case .array(let elements) = value { names = elements } else { names = [value] }
        var types: TypeSet = []
        for name in names {
            guard case .string(let text) = name, let type = TypeSet.byName[text] else {
                throw SchemaError(message: "unknown type \(name)", schemaPath: path)
            }
            types.insert(type)
        }
        return types
    }

    private func number(_ value: JSONValue, at path: String) throws(SchemaError) -> Double {
        guard case .number(let number) = value else {
            throw SchemaError(message: "must be a number", schemaPath: path)
        }
        return number
    }

    private func count(_ value: JSONValue, at path: String) throws(SchemaError) -> Int {
        guard case .number(let number) = value, value.isInteger, number >= 0, number <= Double(Int32.max) else {
            throw SchemaError(message: "must be a non-negative integer", schemaPath: path)
        }
        return Int(number)
    }

    private func pattern(_ value: JSONValue, at path: String) throws(SchemaError) -> CompiledPattern {
        guard case .string(let source) = value else {
            throw SchemaError(message: "must be a string", schemaPath: path)
        }
        do {
            return CompiledPattern(source: source, regex: try NSRegularExpression(pattern: source))
        } catch {
            throw SchemaError(message: "invalid regular expression \"\(source)\"", schemaPath: path)
        }
    }

    private func schemaMap(_ value: JSONValue, at path: String) throws(SchemaError) -> [(key: String, value: JSONValue)]
    {
        guard case .object(let object) = value else {
            throw SchemaError(message: "must be an object of schemas", schemaPath: path)
        }
        return object.entries
    }

    private mutating func schemaArray(
        _ value: JSONValue, at path: String, nonEmpty: Bool = false
    ) throws(SchemaError) -> [Int] {
        guard case .array(let elements) = value, !(nonEmpty && elements.isEmpty) else {
            throw SchemaError(message: nonEmpty ? "must be a non-empty array" : "must be an array", schemaPath: path)
        }
        var indices: [Int] = []
        for (position, element) in elements.enumerated() {
            indices.append(try compile(element, at: path + "/\(position)"))
        }
        return indices
    }
}
