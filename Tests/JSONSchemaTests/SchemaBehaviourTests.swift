import JSON
import JSONSchema
import Testing

struct SchemaBehaviourTests {
    private func schema(_ text: String) throws -> JSONSchema { try JSONSchema(text: text) }

    @Test func reportsInstancePathsKeywordsAndSchemaPaths() throws {
        let schema = try schema(
            #"""
            {"type": "object", "required": ["items"], "properties": {"items": {"type": "array",
              "items": {"type": "object", "required": ["name"], "additionalProperties": false,
                "properties": {"name": {"type": "string", "minLength": 2}, "a/b": {"type": "integer"}}}}}}
            """#)
        let instance = try JSONValue.parse(
            #"{"items": [{"name": "ok"}, {"name": "x"}, {}, {"name": "fine", "a/b": 1.5, "extra": 1}]}"#)
        let errors = schema.validate(instance)
        #expect(errors.map(\.instancePath) == ["/items/1/name", "/items/2", "/items/3/a~1b", "/items/3/extra"])
        #expect(errors.map(\.keyword) == ["minLength", "required", "type", "additionalProperties"])
        #expect(errors[0].schemaPath == "/properties/items/items/properties/name/minLength")
        #expect(schema.firstError(instance) == errors.first)
    }

    @Test func recursiveRefsThroughDefsAndDefinitions() throws {
        let schema = try schema(
            #"""
            {"$ref": "#/$defs/node",
             "$defs": {"node": {"type": "object", "required": ["value"],
               "properties": {"value": {"$ref": "#/definitions/positive"},
                              "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
             "definitions": {"positive": {"type": "number", "exclusiveMinimum": 0}}}
            """#)
        #expect(schema.isValid(try JSONValue.parse(#"{"value": 1, "children": [{"value": 2, "children": []}]}"#)))
        let errors = schema.validate(try JSONValue.parse(#"{"value": 1, "children": [{"value": 0}]}"#))
        #expect(errors.map(\.instancePath) == ["/children/0/value"])
        #expect(errors.map(\.keyword) == ["exclusiveMinimum"])
    }

    @Test(arguments: [
        (##"{"if": {"type": "string"}}"##, "/if"),
        (##"{"properties": {"a": {"contains": {}}}}"##, "/properties/a/contains"),
        (##"{"unevaluatedProperties": false}"##, "/unevaluatedProperties"),
        (##"{"dependentSchemas": {}}"##, "/dependentSchemas"),
        (##"{"$ref": "other.json#/a"}"##, "/$ref"),
        (##"{"$ref": "#anchor"}"##, "/$ref"),
        (##"{"$ref": "#/$defs/missing"}"##, "/$ref"),
        (##"{"$defs": {"a": {"$id": "urn:x"}}}"##, "/$defs/a/$id"),
        (##"{"items": [{}]}"##, "/items"),
        (##"{"type": "float"}"##, "/type"),
        (##"{"minLength": -1}"##, "/minLength"),
        (##"{"pattern": "("}"##, "/pattern"),
        (##"{"anyOf": []}"##, "/anyOf"),
        (##"{"properties": {"a": 3}}"##, "/properties/a"),
        (##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}"##, "/$defs/a"),
    ])
    func rejectsUnsupportedOrInvalidSchemas(text: String, schemaPath: String) {
        #expect {
            _ = try JSONSchema(text: text)
        } throws: { error in
            (error as? SchemaError)?.schemaPath == schemaPath
        }
    }

    @Test func annotationsAndUnknownKeywordsAreIgnored() throws {
        let schema = try schema(
            #"""
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/s",
             "title": "t", "description": "d", "default": 1, "examples": [1], "$comment": "c",
             "format": "email", "x-vendor": {"if": 1}, "type": "string"}
            """#)
        #expect(schema.isValid(.string("not an email: format is annotation-only")))
        #expect(!schema.isValid(.number(1)))
    }

    @Test func patternsSearchUnanchoredAndCountCodePoints() throws {
        let schema = try schema(#"{"pattern": "[0-9]{3}", "maxLength": 4}"#)
        #expect(schema.isValid(.string("a123")))
        #expect(!schema.isValid(.string("a12b")))
        #expect(schema.isValid(.string("💩123")))  // 4 code points, 7 UTF-8 bytes
        #expect(!schema.isValid(.string("💩💩123")))
    }

    // These keywords have no vendored suite file, so their core cases are pinned here.
    @Test func keywordsWithoutVendoredSuiteFiles() throws {
        let unique = try schema(#"{"uniqueItems": true}"#)
        #expect(unique.isValid(try JSONValue.parse("[1, 2, {\"a\": 1}, {\"a\": 2}]")))
        #expect(!unique.isValid(try JSONValue.parse("[1, {\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1}]")))
        #expect(!unique.isValid(try JSONValue.parse("[1, 1.0]")))
        #expect(unique.isValid(try JSONValue.parse("[1, true, \"1\"]")))

        let sized = try schema(#"{"minProperties": 1, "maxProperties": 2}"#)
        #expect(!sized.isValid(try JSONValue.parse("{}")))
        #expect(sized.isValid(try JSONValue.parse(#"{"a": 1, "b": 2}"#)))
        #expect(!sized.isValid(try JSONValue.parse(#"{"a": 1, "b": 2, "c": 3}"#)))

        let multiple = try schema(#"{"multipleOf": 0.0001}"#)
        #expect(multiple.isValid(.number(0.0075)))
        #expect(!multiple.isValid(.number(0.00751)))
        #expect(!(try schema(#"{"multipleOf": 0.123456789}"#).isValid(.number(1e308))))

        let names = try schema(#"{"propertyNames": {"pattern": "^[a-z]+$"}}"#)
        #expect(names.isValid(try JSONValue.parse(#"{"abc": 1}"#)))
        #expect(names.validate(try JSONValue.parse(#"{"abc": 1, "A1": 2}"#)).map(\.keyword) == ["propertyNames"])
    }
}
