"""Custom XMP properties in a PDF/A file, declared with a PDF/A extension schema.

PDF/A (ISO 19005-2, 6.6.2.3) accepts XMP properties outside the predefined schemas only when
the file also describes them: a `pdfaExtension:schemas` entry naming the schema, its
namespace, prefix and each property's name, value type and category. Both are written here,
into the XMP packet pikepdf has already filled, as one more rdf:Description.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pikepdf
from lxml import etree

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PDFA_EXTENSION = "http://www.aiim.org/pdfa/ns/extension/"
PDFA_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
PDFA_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"


@dataclass(frozen=True)
class XmpProperty:
    name: str  # XML name, e.g. "issuingBody"
    description: str  # what it holds, for the extension schema
    value: str | tuple[str, ...] | None  # a tuple is written as an rdf:Seq of Text


@dataclass(frozen=True)
class XmpCustomSchema:
    namespace: str  # e.g. "http://sohoa.invalid/ns/vanban/1.0/"
    prefix: str  # e.g. "vanban"
    title: str  # the schema's description
    properties: tuple[XmpProperty, ...]


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _text(parent, namespace: str, name: str, value: str) -> None:
    etree.SubElement(parent, _q(namespace, name)).text = value


def _declaration(schema: XmpCustomSchema) -> etree._Element:
    """The pdfaExtension:schemas entry describing the schema and every property."""
    nsmap = {"rdf": RDF, "pdfaExtension": PDFA_EXTENSION, "pdfaSchema": PDFA_SCHEMA,
             "pdfaProperty": PDFA_PROPERTY}
    description = etree.Element(_q(RDF, "Description"), nsmap=nsmap)
    description.set(_q(RDF, "about"), "")
    schemas = etree.SubElement(description, _q(PDFA_EXTENSION, "schemas"))
    bag = etree.SubElement(schemas, _q(RDF, "Bag"))
    entry = etree.SubElement(bag, _q(RDF, "li"))
    entry.set(_q(RDF, "parseType"), "Resource")
    _text(entry, PDFA_SCHEMA, "schema", schema.title)
    _text(entry, PDFA_SCHEMA, "namespaceURI", schema.namespace)
    _text(entry, PDFA_SCHEMA, "prefix", schema.prefix)
    properties = etree.SubElement(entry, _q(PDFA_SCHEMA, "property"))
    seq = etree.SubElement(properties, _q(RDF, "Seq"))
    for prop in schema.properties:
        item = etree.SubElement(seq, _q(RDF, "li"))
        item.set(_q(RDF, "parseType"), "Resource")
        _text(item, PDFA_PROPERTY, "name", prop.name)
        _text(item, PDFA_PROPERTY, "valueType", "seq Text" if isinstance(prop.value, tuple) else "Text")
        _text(item, PDFA_PROPERTY, "category", "external")
        _text(item, PDFA_PROPERTY, "description", prop.description)
    return description


def _values(schema: XmpCustomSchema, properties: Sequence[XmpProperty]) -> etree._Element:
    description = etree.Element(_q(RDF, "Description"), nsmap={"rdf": RDF, schema.prefix: schema.namespace})
    description.set(_q(RDF, "about"), "")
    for prop in properties:
        element = etree.SubElement(description, _q(schema.namespace, prop.name))
        if isinstance(prop.value, tuple):
            seq = etree.SubElement(element, _q(RDF, "Seq"))
            for value in prop.value:
                etree.SubElement(seq, _q(RDF, "li")).text = value
        else:
            element.text = prop.value
    return description


def register_prefix(schema: XmpCustomSchema) -> None:
    """Make lxml write the schema's own prefix wherever this process serialises XMP: pyHanko
    re-serialises the packet when it signs, and would otherwise name the namespace `ns0`
    (PDF/A wants the prefix the extension schema declares)."""
    etree.register_namespace(schema.prefix, schema.namespace)


def add_custom_schema(pdf: pikepdf.Pdf, schema: XmpCustomSchema) -> None:
    """Write the schema's properties that have a value, with their PDF/A declaration, into
    the document's XMP packet (which must exist: write it with pdf.open_metadata first)."""
    register_prefix(schema)
    present = [p for p in schema.properties if p.value not in (None, "", ())]
    if not present:
        return
    stream = pdf.Root.Metadata
    tree = etree.fromstring(stream.read_bytes(), etree.XMLParser(remove_blank_text=False)).getroottree()
    rdf = tree.getroot().find(f".//{_q(RDF, 'RDF')}")
    if rdf is None:
        raise ValueError("XMP packet without rdf:RDF")
    declared = XmpCustomSchema(schema.namespace, schema.prefix, schema.title, tuple(present))
    rdf.append(_declaration(declared))
    rdf.append(_values(schema, present))
    stream.write(etree.tostring(tree, encoding="utf-8"))


# -- checking the declarations -----------------------------------------------------------------
#
# pikepdf.pdfa (10.x) knows the predefined XMP schemas only: it reports every property of a
# declared extension schema, and the pdfaExtension namespaces themselves, as "not permitted"
# (rule 6.6.2.3.1-1). Those reports are dropped for the schemas the packet declares, and
# the declarations are checked here instead (ISO 19005-2 6.6.2.3): each custom property is
# declared under its namespace and prefix, with a known value type its value matches and a
# category. The `page` validator (profile 2u) checks the same independently in the tests.

_EXTENSION_NAMESPACES = (PDFA_EXTENSION, PDFA_SCHEMA, PDFA_PROPERTY)
# Namespaces of the schemas predefined by XMP and PDF/A: their properties need no declaration.
_PREDEFINED = frozenset({
    "http://purl.org/dc/elements/1.1/", "http://ns.adobe.com/xap/1.0/", "http://ns.adobe.com/pdf/1.3/",
    "http://ns.adobe.com/xap/1.0/rights/", "http://ns.adobe.com/xap/1.0/mm/", "http://ns.adobe.com/xap/1.0/bj/",
    "http://ns.adobe.com/xap/1.0/t/pg/", "http://ns.adobe.com/xmp/1.0/DynamicMedia/",
    "http://ns.adobe.com/photoshop/1.0/", "http://ns.adobe.com/tiff/1.0/", "http://ns.adobe.com/exif/1.0/",
    "http://ns.adobe.com/exif/1.0/aux/", "http://ns.adobe.com/camera-raw-settings/1.0/",
    "http://www.aiim.org/pdfa/ns/id/", "http://www.aiim.org/pdfua/ns/id/", PDFA_EXTENSION,
})
_VALUE_TYPES = {"Text": "simple", "seq Text": "seq", "bag Text": "bag", "Date": "simple", "Integer": "simple",
                "Boolean": "simple", "URI": "simple"}


@dataclass(frozen=True)
class _Declaration:
    namespace: str
    prefix: str
    properties: dict  # name -> (valueType, category)


def _packet(pdf: pikepdf.Pdf) -> etree._Element | None:
    metadata = pdf.Root.get("/Metadata")
    if not isinstance(metadata, pikepdf.Stream):
        return None
    try:
        return etree.fromstring(metadata.read_bytes())
    except etree.XMLSyntaxError:
        return None


def _resource(item: etree._Element) -> etree._Element:
    """The fields of a structure: an rdf:li with parseType="Resource" holds them itself,
    one re-serialised by another writer (pyHanko) holds an rdf:Description that does."""
    inner = item.find(_q(RDF, "Description"))
    return inner if inner is not None else item


def _field(node: etree._Element, namespace: str, name: str) -> str | None:
    """A simple field of a structure in any of RDF's spellings: a child element's text, the
    child's rdf:resource (a URI), or an attribute (pyHanko writes those)."""
    attribute = node.get(_q(namespace, name))
    if attribute is not None:
        return attribute
    child = node.find(_q(namespace, name))
    if child is None:
        return None
    return child.text if child.text is not None else child.get(_q(RDF, "resource"))


def _declarations(root: etree._Element) -> list[_Declaration]:
    found = []
    for schema in root.iter(_q(PDFA_EXTENSION, "schemas")):
        for entry in map(_resource, schema.iter(_q(RDF, "li"))):
            namespace = _field(entry, PDFA_SCHEMA, "namespaceURI")
            if namespace is None:
                continue  # a property's entry, not a schema's
            properties = {}
            for prop in map(_resource, entry.iter(_q(RDF, "li"))):
                name = _field(prop, PDFA_PROPERTY, "name")
                if name is not None:
                    properties[name] = (_field(prop, PDFA_PROPERTY, "valueType"),
                                        _field(prop, PDFA_PROPERTY, "category"))
            found.append(_Declaration(namespace, _field(entry, PDFA_SCHEMA, "prefix") or "", properties))
    return found


def _shape(element: etree._Element) -> str:
    children = list(element)
    if not children:
        return "simple"
    return {_q(RDF, "Seq"): "seq", _q(RDF, "Bag"): "bag", _q(RDF, "Alt"): "alt"}.get(children[0].tag, "struct")


def extension_schema_findings(pdf: pikepdf.Pdf) -> list[str]:
    """Custom XMP properties that are not declared as PDF/A requires (empty when all are)."""
    root = _packet(pdf)
    if root is None:
        return []
    declared = {d.namespace: d for d in _declarations(root)}
    findings = []
    for description in root.iter(_q(RDF, "Description")):
        if description.getparent() is None or description.getparent().tag != _q(RDF, "RDF"):
            continue  # a structure inside a property, not a top-level description
        attributes = [(etree.QName(key), None) for key in description.attrib if etree.QName(key).namespace != RDF]
        for qname, element in [(etree.QName(e), e) for e in description] + attributes:
            namespace, name = qname.namespace, qname.localname
            if namespace in _PREDEFINED:
                continue
            declaration = declared.get(namespace)
            if declaration is None:
                findings.append(f"XMP: lược đồ {namespace} của thuộc tính {name} không được khai báo (pdfaExtension)")
                continue
            prefix = (element if element is not None else description).nsmap
            used = next((p for p, uri in prefix.items() if uri == namespace), None)
            if used != declaration.prefix:
                findings.append(f"XMP: tiền tố {used} khác tiền tố đã khai báo {declaration.prefix}")
            if name not in declaration.properties:
                findings.append(f"XMP: thuộc tính {declaration.prefix}:{name} không được khai báo")
                continue
            value_type, category = declaration.properties[name]
            if value_type not in _VALUE_TYPES or category not in ("internal", "external"):
                findings.append(f"XMP: khai báo của {declaration.prefix}:{name} sai ({value_type}, {category})")
            elif _VALUE_TYPES[value_type] != ("simple" if element is None else _shape(element)):
                findings.append(f"XMP: giá trị của {declaration.prefix}:{name} không phải kiểu {value_type}")
    return findings


def without_declared_extensions(findings: list[str], pdf: pikepdf.Pdf) -> list[str]:
    """pikepdf.pdfa's findings without its objections to the extension schemas the packet
    declares (which extension_schema_findings checks instead)."""
    root = _packet(pdf)
    declarations = _declarations(root) if root is not None else []
    if not declarations:
        return findings
    uris = set(_EXTENSION_NAMESPACES) | {d.namespace for d in declarations}
    prefixes = {"pdfaExtension"} | {d.prefix for d in declarations}

    def covered(finding: str) -> bool:
        if "6.6.2.3.1-1" not in finding:
            return False
        if any(f"={uri} is not permitted" in finding for uri in uris):
            return True
        return any(f"XMP property {prefix}:" in finding for prefix in prefixes)

    return [f for f in findings if not covered(f)]

