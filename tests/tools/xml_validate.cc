// xml_validate SCHEMA.rng FILE...: validates XML files against a RelaxNG
// schema with libxml2, streaming, so files of any size are fine. Prints
// libxml2's messages and exits 0 when every file is valid, 1 otherwise.
// Built for the tests only (xml/thinmeta.rng against dumps); not installed.
#include <cstdio>

#include <libxml/relaxng.h>
#include <libxml/xmlreader.h>

namespace {

bool validate(xmlRelaxNGPtr schema, const char* path)
{
	xmlTextReaderPtr reader = xmlReaderForFile(path, nullptr, XML_PARSE_NONET);
	if (!reader) {
		std::fprintf(stderr, "%s: cannot be read\n", path);
		return false;
	}
	bool ok = xmlTextReaderRelaxNGSetSchema(reader, schema) == 0;
	int r = 1;
	while (ok && (r = xmlTextReaderRead(reader)) == 1) {
	}
	ok = ok && r == 0 && xmlTextReaderIsValid(reader) == 1;
	xmlFreeTextReader(reader);
	std::printf("%s: %s\n", path, ok ? "valid" : "invalid");
	return ok;
}

}

int main(int argc, char** argv)
{
	if (argc < 3) {
		std::fprintf(stderr, "usage: xml_validate SCHEMA.rng FILE...\n");
		return 1;
	}
	xmlRelaxNGParserCtxtPtr parser = xmlRelaxNGNewParserCtxt(argv[1]);
	xmlRelaxNGPtr schema = parser ? xmlRelaxNGParse(parser) : nullptr;
	if (!schema) {
		std::fprintf(stderr, "%s: not a usable RelaxNG schema\n", argv[1]);
		return 1;
	}
	bool all_valid = true;
	for (int i = 2; i < argc; ++i)
		all_valid = validate(schema, argv[i]) && all_valid;
	xmlRelaxNGFree(schema);
	xmlRelaxNGFreeParserCtxt(parser);
	xmlCleanupParser();
	return all_valid ? 0 : 1;
}
