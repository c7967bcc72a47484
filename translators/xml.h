/*
 * xml.h: the XML front end.  The entry point is translator_xml
 * (translator.h); the document reaches the map engine as set->xml.
 */
#ifndef XML_H
#define XML_H

extern const struct translator translator_xml;

#endif /* XML_H */
