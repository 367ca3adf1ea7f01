/*
 * json.c - JSON Lines output.  Paths are byte strings: one that is valid
 * UTF-8 is written as a JSON string; one that is not gets "path" with each
 * invalid byte replaced by U+FFFD (for display) and "path_b64", the
 * standard base64 of the raw bytes, which is the lossless form.
 */
#include <string.h>

#include "cli.h"

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char b = s[0];
	size_t k;
	uint32_t cp;
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf) {
		k = 2;
		cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		k = 3;
		cp = b & 0x0f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		k = 4;
		cp = b & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return k;
}

bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t k = utf8_seq_len(s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* The code point of the valid k-byte UTF-8 sequence at s when it ends a
 * line for some reader although it is not a C0 control: the C1 controls
 * (NEL, U+0085, among them), and U+2028 and U+2029, which Python's
 * splitlines() and JavaScript take as line breaks.  0 otherwise. */
static uint32_t line_breaking(const unsigned char *s, size_t k)
{
	if (k == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return s[1];
	if (k == 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] == 0xa8 || s[2] == 0xa9))
		return 0x2000u | (uint32_t)(s[2] - 0x80);
	return 0;
}

void write_escaped(FILE *f, const unsigned char *s, size_t n, bool json)
{
	size_t i = 0;
	while (i < n) {
		unsigned char b = s[i];
		const char *esc = b == '\\' ? "\\\\" : b == '\n' ? "\\n" :
				  b == '\t' ? "\\t" : b == '\r' ? "\\r" :
				  b == '"' && json ? "\\\"" : NULL;
		size_t k = 1;
		if (esc != NULL)
			fputs(esc, f);
		else if (b < 0x20 || b == 0x7f)
			fprintf(f, json ? "\\u%04x" : "\\%03o", b);
		else if (b < 0x80)
			fputc(b, f);
		else if ((k = utf8_seq_len(s + i, n - i)) == 0) {
			/* Invalid UTF-8. */
			if (json)
				fputs("\\ufffd", f);
			else
				fprintf(f, "\\%03o", b);
			k = 1;
		} else if (line_breaking(s + i, k) != 0) {
			if (json) {
				fprintf(f, "\\u%04x",
					(unsigned)line_breaking(s + i, k));
			} else {
				for (size_t j = 0; j < k; j++)
					fprintf(f, "\\%03o", s[i + j]);
			}
		} else {
			fwrite(s + i, 1, k, f);
		}
		i += k;
	}
}

void json_string(FILE *f, const unsigned char *s, size_t n)
{
	fputc('"', f);
	write_escaped(f, s, n, true);
	fputc('"', f);
}

static void base64(FILE *f, const unsigned char *s, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		fputc(tab[(v >> 18) & 63], f);
		fputc(tab[(v >> 12) & 63], f);
		fputc(i + 1 < n ? tab[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? tab[v & 63] : '=', f);
	}
}

void json_path_fields(FILE *f, const unsigned char *p, size_t len)
{
	fputs("\"path\": ", f);
	json_string(f, p, len);
	if (!utf8_valid(p, len)) {
		fputs(", \"path_b64\": \"", f);
		base64(f, p, len);
		fputc('"', f);
	}
}

/* The names of the bits of word, as a JSON array. */
static void json_names(FILE *f, uint32_t word)
{
	bool first = true;
	fputc('[', f);
#define OP_NAME(name, bit, letter, str)                 \
	if (word & (1u << (bit))) {                     \
		fprintf(f, "%s\"%s\"", first ? "" : ", ", str); \
		first = false;                          \
	}
	CACHE_OPS(OP_NAME)
#undef OP_NAME
	fputc(']', f);
}

void json_ops(FILE *f, uint64_t ops)
{
	fputs("\"ops\": ", f);
	json_names(f, (uint32_t)ops);
	fputs(", \"failed\": ", f);
	json_names(f, cache_ops_failed(ops));
}

void json_entry_open(FILE *f, const struct entry *e)
{
	fputc('{', f);
	json_path_fields(f, e->path, e->len);
	fputs(", ", f);
	json_ops(f, e->ops);
	fprintf(f, ", \"count\": %llu", (unsigned long long)e->count);
}
