import JSON

/// State of one validation walk.
struct ValidationContext {
    enum Mode {
        /// Collect every error.
        case all
        /// Stop at the first error.
        case first
        /// Only answer valid/invalid (for `anyOf`/`oneOf`/`not` branches): no messages or paths are built.
        case probe
    }

    let mode: Mode
    /// Where in the instance the walk is; rendered to a JSON pointer only when an error is reported.
    var path: [PathComponent] = []
    var errors: [SchemaViolation] = []
    var failed = false

    init(mode: Mode) { self.mode = mode }

    var isDone: Bool { failed && mode != .all }

    mutating func report(_ keyword: String, _ node: SchemaNode, _ message: @autoclosure () -> String) {
        failed = true
        guard mode != .probe else { return }
        let schemaPath = keyword.isEmpty ? node.location : node.location + "/" + JSONPointer.escape(keyword)
        errors.append(
            SchemaViolation(instancePath: renderPath(), keyword: keyword, message: message(), schemaPath: schemaPath))
    }

    private func renderPath() -> String {
        var rendered = ""
        for component in path {
            switch component {
            case .key(let key): rendered += "/" + JSONPointer.escape(key)
            case .index(let index): rendered += "/\(index)"
            }
        }
        return rendered
    }
}

enum PathComponent {
    case key(String)
    case index(Int)
}

extension JSONSchema {
    func validate(_ index: Int, _ instance: JSONValue, _ context: inout ValidationContext) {
        let node = nodes[index]
        if let constant = node.constantResult {
            if !constant { context.report("", node, "no value is allowed here (the schema is false)") }
            return
        }
        if let types = node.types, !Self.matches(types, instance) {
            context.report("type", node, "expected \(Self.describe(types)), got \(Self.typeName(of: instance))")
            if context.isDone { return }
        }
        if let values = node.enumValues, !values.contains(instance) {
            context.report("enum", node, "value is not one of the \(values.count) allowed by enum")
        }
        if let expected = node.constValue, expected != instance {
            context.report("const", node, "value is not the const value")
        }
        if context.isDone { return }
        switch instance {
        case .number(let number): validateNumber(number, node, &context)
        case .string(let text): validateString(text, node, &context)
        case .array(let elements): validateArray(elements, node, &context)
        case .object(let object): validateObject(object, node, &context)
        case .null, .bool: break
        }
        if context.isDone { return }
        validateCombinators(instance, node, &context)
    }

    private func validateNumber(_ number: Double, _ node: SchemaNode, _ context: inout ValidationContext) {
        if let minimum = node.minimum, number < minimum {
            context.report("minimum", node, "\(number) is less than the minimum \(minimum)")
        }
        if let maximum = node.maximum, number > maximum {
            context.report("maximum", node, "\(number) is greater than the maximum \(maximum)")
        }
        if let bound = node.exclusiveMinimum, number <= bound {
            context.report("exclusiveMinimum", node, "\(number) is not greater than \(bound)")
        }
        if let bound = node.exclusiveMaximum, number >= bound {
            context.report("exclusiveMaximum", node, "\(number) is not less than \(bound)")
        }
        if let divisor = node.multipleOf {
            // Compare the quotient to an integer with a relative tolerance: 0.0075 / 0.0001 is 74.99999999999999
            // in binary floating point, yet 0.0075 is a multiple of 0.0001 in decimal, which is what authors mean.
            let quotient = number / divisor
            if !quotient.isFinite || (quotient - quotient.rounded()).magnitude > quotient.magnitude * 1e-12 {
                context.report("multipleOf", node, "\(number) is not a multiple of \(divisor)")
            }
        }
    }

    private func validateString(_ text: String, _ node: SchemaNode, _ context: inout ValidationContext) {
        if node.minLength != nil || node.maxLength != nil {
            // The spec counts code points; UTF-8 length bounds it from above, which often settles maxLength cheaply.
            let length = text.utf8.count <= (node.maxLength ?? 0) ? text.utf8.count : text.unicodeScalars.count
            if let minimum = node.minLength, length < minimum {
                context.report("minLength", node, "string is shorter than \(minimum) characters")
            }
            if let maximum = node.maxLength, length > maximum {
                context.report("maxLength", node, "string is longer than \(maximum) characters")
            }
        }
        if let pattern = node.pattern, !pattern.matches(text) {
            context.report("pattern", node, "string does not match the pattern \(pattern.source)")
        }
    }

    private func validateArray(_ elements: [JSONValue], _ node: SchemaNode, _ context: inout ValidationContext) {
        if let minimum = node.minItems, elements.count < minimum {
            context.report("minItems", node, "array has \(elements.count) items, fewer than \(minimum)")
        }
        if let maximum = node.maxItems, elements.count > maximum {
            context.report("maxItems", node, "array has \(elements.count) items, more than \(maximum)")
        }
        if node.uniqueItems, let (first, second) = Self.firstDuplicate(elements) {
            context.report("uniqueItems", node, "items \(first) and \(second) are equal")
        }
        for (position, element) in elements.enumerated() {
            if context.isDone { return }
            let subschema = position < node.prefixItems.count ? node.prefixItems[position] : node.items
            guard let subschema else { continue }
            context.path.append(.index(position))
            validate(subschema, element, &context)
            context.path.removeLast()
        }
    }

    private func validateObject(_ object: JSONObject, _ node: SchemaNode, _ context: inout ValidationContext) {
        for name in node.required where object[name] == nil {
            context.report("required", node, "missing required property \"\(name)\"")
            if context.isDone { return }
        }
        if let minimum = node.minProperties, object.count < minimum {
            context.report("minProperties", node, "object has \(object.count) properties, fewer than \(minimum)")
        }
        if let maximum = node.maxProperties, object.count > maximum {
            context.report("maxProperties", node, "object has \(object.count) properties, more than \(maximum)")
        }
        for key in object.keys {
            if context.isDone { return }
            let value = object[key]!
            if let namesSchema = node.propertyNames, !probe(namesSchema, .string(key)) {
                context.report("propertyNames", node, "property name \"\(key)\" does not match propertyNames")
            }
            context.path.append(.key(key))
            defer { context.path.removeLast() }
            var declared = false
            if let subschema = node.properties[key] {
                declared = true
                validate(subschema, value, &context)
            }
            for (pattern, subschema) in node.patternProperties where pattern.matches(key) {
                declared = true
                validate(subschema, value, &context)
            }
            if !declared, let additional = node.additionalProperties {
                if nodes[additional].constantResult == false {
                    // Name the rule the author wrote, not the `false` subschema it compiles to.
                    context.report("additionalProperties", node, "property \"\(key)\" is not allowed")
                } else {
                    validate(additional, value, &context)
                }
            }
        }
    }

    private func validateCombinators(_ instance: JSONValue, _ node: SchemaNode, _ context: inout ValidationContext) {
        if let ref = node.ref {
            validate(ref, instance, &context)
            if context.isDone { return }
        }
        for subschema in node.allOf {
            validate(subschema, instance, &context)
            if context.isDone { return }
        }
        if !node.anyOf.isEmpty, !node.anyOf.contains(where: { probe($0, instance) }) {
            context.report("anyOf", node, "value matches none of the \(node.anyOf.count) anyOf subschemas")
        }
        if !node.oneOf.isEmpty {
            let matching = node.oneOf.indices.filter { probe(node.oneOf[$0], instance) }
            if matching.isEmpty {
                context.report("oneOf", node, "value matches none of the \(node.oneOf.count) oneOf subschemas")
            } else if matching.count > 1 {
                context.report("oneOf", node, "value matches oneOf subschemas \(matching[0]) and \(matching[1])")
            }
        }
        if let negated = node.not, probe(negated, instance) {
            context.report("not", node, "value matches the schema under not")
        }
    }

    /// Whether `instance` is valid against a subschema, without building any error.
    private func probe(_ index: Int, _ instance: JSONValue) -> Bool {
        var context = ValidationContext(mode: .probe)
        validate(index, instance, &context)
        return !context.failed
    }

    private static func matches(_ types: TypeSet, _ instance: JSONValue) -> Bool {
        switch instance {
        case .null: types.contains(.null)
        case .bool: types.contains(.boolean)
        case .number: types.contains(.number) || (types.contains(.integer) && instance.isInteger)
        case .string: types.contains(.string)
        case .array: types.contains(.array)
        case .object: types.contains(.object)
        }
    }

    private static func typeName(of instance: JSONValue) -> String {
        switch instance {
        case .null: "null"
        case .bool: "boolean"
        case .number: instance.isInteger ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    private static func describe(_ types: TypeSet) -> String {
        TypeSet.byName.filter { types.contains($0.value) }.map(\.key).sorted().joined(separator: " or ")
    }

    /// Positions of the first pair of equal elements. Quadratic, which is fine for model-sized arrays.
    private static func firstDuplicate(_ elements: [JSONValue]) -> (Int, Int)? {
        for second in elements.indices {
            for first in 0..<second where elements[first] == elements[second] { return (first, second) }
        }
        return nil
    }
}
