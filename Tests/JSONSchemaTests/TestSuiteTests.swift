// Runs the official JSON-Schema-Test-Suite, draft 2020-12, against the validator.
//
// Vendored byte-for-byte under Resources/draft2020-12/ (test data, MIT-licensed, from
// github.com/json-schema-org/JSON-Schema-Test-Suite, tests/draft2020-12/; anyOf, const, maxItems, maximum,
// minItems, minimum, oneOf and properties come from the identical-layout jdesrosiers fork, whose copies add
// per-test "id" fields): additionalProperties, allOf, anyOf, const, defs, enum, exclusiveMaximum,
// exclusiveMinimum, items, maxItems, maxLength, maximum, minItems, minLength, minimum, not, oneOf, pattern,
// properties, required, type.
//
// Every group must either compile and pass all its cases, or be listed in `expectedUnsupported` with the reason
// and then fail to compile with a SchemaError. A group that is skipped without being listed, or listed but
// compiling, fails the test, so nothing is skipped silently.
import Foundation
import JSON
import JSONSchema
import Testing

let suiteFiles = [
    "additionalProperties", "allOf", "anyOf", "const", "defs", "enum", "exclusiveMaximum", "exclusiveMinimum",
    "items", "maxItems", "maxLength", "maximum", "minItems", "minLength", "minimum", "not", "oneOf", "pattern",
    "properties", "required", "type",
]

/// "file: group description" → why the group's schema is expected to be rejected at compile time.
let expectedUnsupported: [String: String] = [
    "additionalProperties: dependentSchemas with additionalProperties": "dependentSchemas is unsupported",
    "defs: valid definition": "remote $ref to the 2020-12 meta-schema",
    "defs: invalid definition": "remote $ref to the 2020-12 meta-schema",
    "not: collect annotations inside a 'not', even if collection is disabled": "unevaluatedProperties is unsupported",
]

struct SuiteOutcome {
    var passedCases = 0
    var skippedGroups: [String] = []
}

func loadSuiteFile(_ name: String) throws -> JSONValue {
    let url = try #require(
        Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Resources/draft2020-12"),
        "missing vendored suite file \(name).json")
    return try JSONValue.parse(bytes: Array(try Data(contentsOf: url)))
}

@Test(arguments: suiteFiles)
func officialSuite(file: String) throws {
    guard case .array(let groups) = try loadSuiteFile(file) else {
        Issue.record("\(file).json is not an array of groups")
        return
    }
    var outcome = SuiteOutcome()
    for group in groups {
        guard case .object(let groupObject) = group, case .string(let description)? = groupObject["description"],
            let schemaValue = groupObject["schema"], case .array(let cases)? = groupObject["tests"]
        else {
            Issue.record("malformed group in \(file).json")
            continue
        }
        let key = "\(file): \(description)"
        let schema: JSONSchema
        do {
            schema = try JSONSchema(schemaValue)
        } catch {
            if expectedUnsupported[key] == nil { Issue.record("\(key) was skipped without being listed: \(error)") }
            outcome.skippedGroups.append(key)
            continue
        }
        #expect(expectedUnsupported[key] == nil, "\(key) is listed as unsupported but compiled")
        for testCase in cases {
            guard case .object(let caseObject) = testCase,
                case .string(let caseDescription)? = caseObject["description"],
                let data = caseObject["data"], case .bool(let expectedValid)? = caseObject["valid"]
            else {
                Issue.record("malformed case in \(key)")
                continue
            }
            let errors = schema.validate(data)
            #expect(errors.isEmpty == expectedValid, "\(key) / \(caseDescription): \(errors)")
            // The early-exit path must agree with the exhaustive one.
            #expect((schema.firstError(data) == nil) == errors.isEmpty, "\(key) / \(caseDescription)")
            if errors.isEmpty == expectedValid { outcome.passedCases += 1 }
        }
    }
    let listedForFile = expectedUnsupported.keys.filter { $0.hasPrefix(file + ": ") }.sorted()
    #expect(outcome.skippedGroups.sorted() == listedForFile, "skip list is stale for \(file).json")
    print(
        "draft2020-12/\(file).json: \(outcome.passedCases) cases passed, \(outcome.skippedGroups.count) groups skipped")
}
