import JSON

/// A JSON Schema (draft 2020-12 subset) compiled once for fast repeated validation.
///
/// Supported: `type`, `enum`, `const`, `properties`, `required`, `additionalProperties`, `patternProperties`,
/// `propertyNames`, `minProperties`, `maxProperties`, `items`, `prefixItems`, `minItems`, `maxItems`,
/// `uniqueItems`, `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum`, `multipleOf`, `allOf`, `anyOf`, `oneOf`, `not`, local `$ref` (JSON pointers into this
/// document, e.g. `#/$defs/x`, `#/definitions/x`, `#`; recursion allowed), `$defs`/`definitions`, and boolean
/// schemas. Annotations are accepted and ignored: `title`, `description`, `default`, `examples`, `$schema`,
/// `$comment`, `$id` (root only), `deprecated`, `readOnly`, `writeOnly`, `contentEncoding`, `contentMediaType`,
/// and `format` (annotation-only, as 2020-12's default format-annotation vocabulary says).
///
/// Every other keyword that the drafts define (see ``JSONSchema/unsupportedKeywords``) makes `init` throw rather
/// than be silently ignored, so a validity figure never overstates what was checked. Names no draft defines are
/// ignored, as 2020-12 §4.3.1 requires (vendor extensions such as `x-order` are common in real schemas).
package struct JSONSchema: Sendable {
    let nodes: [SchemaNode]
    let rootIndex: Int

    /// Keywords defined by JSON Schema drafts that this validator does not implement.
    package static let unsupportedKeywords: Set<String> = [
        "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor", "$vocabulary",
        "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies",
        "contains", "minContains", "maxContains", "unevaluatedItems", "unevaluatedProperties",
        "additionalItems", "contentSchema",
    ]

    /// Compiles `schema`.
    /// - Throws: ``SchemaError`` when the schema is malformed, uses an unsupported keyword, has a `$ref` that is
    ///   not a local JSON pointer or does not resolve, or loops through `$ref` without consuming the instance.
    package init(_ schema: JSONValue) throws(SchemaError) {
        var compiler = SchemaCompiler(root: schema)
        rootIndex = try compiler.compile(schema, at: "")
        nodes = compiler.nodes
        try compiler.rejectInPlaceCycles()
    }

    /// Parses and compiles a schema given as JSON text.
    package init(text: String) throws(SchemaError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw SchemaError(message: "schema is not JSON: \(error)", schemaPath: "")
        }
        try self.init(value)
    }

    /// Every violation, in schema keyword order; empty when `instance` is valid.
    package func validate(_ instance: JSONValue) -> [SchemaViolation] {
        var context = ValidationContext(mode: .all)
        validate(rootIndex, instance, &context)
        return context.errors
    }

    /// The first violation, or nil when `instance` is valid; stops early, so cheaper than ``validate(_:)``.
    package func firstError(_ instance: JSONValue) -> SchemaViolation? {
        var context = ValidationContext(mode: .first)
        validate(rootIndex, instance, &context)
        return context.errors.first
    }

    package func isValid(_ instance: JSONValue) -> Bool { firstError(instance) == nil }
}

/// A schema that cannot be compiled, and where in it.
package struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    package var message: String
    /// JSON pointer into the schema document (empty for the root).
    package var schemaPath: String

    package var description: String { "invalid schema at \"\(schemaPath)\": \(message)" }
}

/// One way an instance fails its schema.
package struct SchemaViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// JSON pointer into the instance, e.g. `/items/3/name`; empty for the document itself.
    package var instancePath: String
    /// The failing keyword, e.g. `required`.
    package var keyword: String
    package var message: String
    /// JSON pointer to the failing keyword in the schema, e.g. `/properties/items/minItems`.
    package var schemaPath: String

    package var description: String {
        "\(instancePath.isEmpty ? "(root)" : instancePath): \(message) [\(keyword) at \(schemaPath)]"
    }
}

/// How a model's structured-output text fares against the request's schema.
package enum StructuredOutputVerdict: Sendable, Equatable {
    case valid
    /// Not JSON; the parser's message with the byte offset.
    case notJSON(String)
    /// Cut off mid-document, typically at `max_tokens` (`finish_reason: "length"`).
    case truncated
    /// JSON, but the first violation found.
    case schemaViolation(pointer: String, keyword: String, message: String)
}

extension JSONSchema {
    /// Classifies a model's raw output text.
    ///
    /// Unparseable output is `truncated` when the server said it stopped for length, or — when the finish reason
    /// is unknown — when the parser ran out of input mid-document. A model that claims `stop` but ends mid-document
    /// produced malformed output, so that is `notJSON`.
    package func check(output: String, finishReason: String?) -> StructuredOutputVerdict {
        let document: JSONValue
        do {
            document = try JSONValue.parse(output)
        } catch {
            if finishReason == "length" || (finishReason == nil && error.reachedEndOfInput) { return .truncated }
            return .notJSON(error.description)
        }
        guard let violation = firstError(document) else { return .valid }
        return .schemaViolation(
            pointer: violation.instancePath, keyword: violation.keyword, message: violation.message)
    }
}
