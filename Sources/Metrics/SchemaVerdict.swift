/// Outcome of checking a structured-output response against its JSON schema.
package enum SchemaVerdict: String, Sendable, Codable, CaseIterable {
    case valid
    /// The text is not JSON (and the model was not cut off).
    case notJSON = "not-json"
    /// The text stops mid-document, typically cut at max_tokens (finish_reason "length").
    case truncated
    /// Valid JSON that breaks the schema.
    case schemaViolation = "schema-violation"
}

/// Schema-validity counts of one target.
package struct SchemaSummary: Sendable, Codable, Equatable {
    /// Successful responses that were checked.
    package var checked: Int
    package var valid: Int
    package var notJSON: Int
    package var truncated: Int
    package var violations: Int
    /// A few first errors (JSON pointer: message), for the report.
    package var samples: [String]

    package var validRate: Double { checked == 0 ? 0 : Double(valid) / Double(checked) }
}
