#include "harness/spec/tree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/err.h"

void spec_tree_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		spec_tree_free(n->kids[i]); /* depth is bounded by SPEC_TREE_MAX_DEPTH */
	free(n->kids);
	free(n->text);
	free(n);
}

bool spec_tree_is_null(const struct ynode *n)
{
	if (!n || n->type != YNODE_SCALAR || !n->plain)
		return false;
	return !strcmp(n->text, "") || !strcmp(n->text, "~") || !strcmp(n->text, "null") ||
	       !strcmp(n->text, "Null") || !strcmp(n->text, "NULL");
}

const char *spec_tree_kind(const struct ynode *n)
{
	if (!n)
		return "nothing";
	switch (n->type) {
	case YNODE_MAP:
		return "a mapping";
	case YNODE_SEQ:
		return "a list";
	case YNODE_SCALAR:
		break;
	}
	if (spec_tree_is_null(n))
		return "null";
	return "a string";
}

/* A reader error (bad UTF-8, a control character) has a byte offset but no line: count. */
static void offset_to_mark(const char *text, size_t len, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80) { /* count characters, not UTF-8 continuation bytes */
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int parser_error(const yaml_parser_t *p, const char *text, size_t len, char *err,
			size_t errlen)
{
	const char *problem = p->problem ? p->problem : "cannot parse";
	if (p->error == YAML_MEMORY_ERROR)
		return err_set(err, errlen, SB_ENOMEM, "out of memory while parsing YAML");
	if (p->error == YAML_READER_ERROR) {
		int l, c;
		offset_to_mark(text, len, p->problem_offset, &l, &c);
		if (p->problem_value != -1)
			return err_set(err, errlen, SB_EINVAL, "%d:%d: invalid input: %s (byte 0x%02X)",
				       l, c, problem, (unsigned)p->problem_value & 0xFFu);
		return err_set(err, errlen, SB_EINVAL, "%d:%d: invalid input: %s", l, c, problem);
	}
	int l = (int)p->problem_mark.line + 1, c = (int)p->problem_mark.column + 1;
	if (p->context && p->context_mark.line == p->problem_mark.line &&
	    p->context_mark.column == p->problem_mark.column)
		return err_set(err, errlen, SB_EINVAL, "%d:%d: YAML syntax: %s (%s)", l, c, problem,
			       p->context);
	if (p->context)
		return err_set(err, errlen, SB_EINVAL, "%d:%d: YAML syntax: %s (%s at %d:%d)", l, c,
			       problem, p->context, (int)p->context_mark.line + 1,
			       (int)p->context_mark.column + 1);
	return err_set(err, errlen, SB_EINVAL, "%d:%d: YAML syntax: %s", l, c, problem);
}

static int add_kid(struct ynode *parent, struct ynode *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **k = realloc(parent->kids, cap * sizeof *k);
		if (!k)
			return SB_ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

/* Anchors, aliases and tags are refused where they appear. */
static int refuse_extras(const yaml_event_t *ev, char *err, size_t errlen)
{
	const unsigned char *anchor = NULL, *tag = NULL;
	int l = (int)ev->start_mark.line + 1, c = (int)ev->start_mark.column + 1;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return err_set(err, errlen, SB_EINVAL,
			       "%d:%d: aliases (*%.40s) are not supported: write the value out", l,
			       c, (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	default:
		return 0;
	}
	if (anchor)
		return err_set(err, errlen, SB_EINVAL,
			       "%d:%d: anchors (&%.40s) and aliases are not supported: write the "
			       "value out",
			       l, c, (const char *)anchor);
	if (tag)
		return err_set(err, errlen, SB_EINVAL, "%d:%d: tags (%.40s) are not supported", l,
			       c, (const char *)tag);
	return 0;
}

struct builder {
	struct ynode *stack[SPEC_TREE_MAX_DEPTH + 1];
	int depth;
	struct ynode *root;
	size_t nodes;
	int docs;
};

static struct ynode *node_new(enum ynode_type t, const yaml_event_t *ev)
{
	struct ynode *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->type = t;
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	return n;
}

/* Attach a new node to the open container (or make it the root). A mapping's keys must be
 * scalars: the check is here, where the key's position is known. */
static int attach(struct builder *b, struct ynode *n, char *err, size_t errlen)
{
	if (++b->nodes > SPEC_TREE_MAX_NODES) {
		spec_tree_free(n);
		return err_set(err, errlen, SB_EINVAL, "%d:%d: more than %d YAML nodes", n->line,
			       n->col, SPEC_TREE_MAX_NODES);
	}
	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	struct ynode *parent = b->stack[b->depth - 1];
	if (parent->type == YNODE_MAP && parent->n % 2 == 0 && n->type != YNODE_SCALAR) {
		int l = n->line, c = n->col;
		const char *what = n->type == YNODE_MAP ? "a mapping" : "a list";
		spec_tree_free(n);
		return err_set(err, errlen, SB_EINVAL, "%d:%d: a key must be a word, not %s", l, c,
			       what);
	}
	if (add_kid(parent, n)) {
		spec_tree_free(n);
		return SB_ENOMEM;
	}
	return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev, char *err, size_t errlen)
{
	int rc = refuse_extras(ev, err, errlen);
	if (rc)
		return rc;
	struct ynode *n;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1)
			return err_set(err, errlen, SB_EINVAL,
				       "%d:%d: a spec is one YAML document; a second one starts here",
				       (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1);
		return 0;
	case YAML_SCALAR_EVENT:
		n = node_new(YNODE_SCALAR, ev);
		if (!n)
			return SB_ENOMEM;
		n->len = ev->data.scalar.length;
		n->text = malloc(n->len + 1);
		if (!n->text) {
			free(n);
			return SB_ENOMEM;
		}
		memcpy(n->text, ev->data.scalar.value, n->len);
		n->text[n->len] = '\0';
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return attach(b, n, err, errlen);
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (b->depth >= SPEC_TREE_MAX_DEPTH)
			return err_set(err, errlen, SB_EINVAL, "%d:%d: nested deeper than %d levels",
				       (int)ev->start_mark.line + 1,
				       (int)ev->start_mark.column + 1, SPEC_TREE_MAX_DEPTH);
		n = node_new(ev->type == YAML_MAPPING_START_EVENT ? YNODE_MAP : YNODE_SEQ, ev);
		if (!n)
			return SB_ENOMEM;
		rc = attach(b, n, err, errlen);
		if (rc)
			return rc;
		b->stack[b->depth++] = n;
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

int spec_tree_parse(const char *text, size_t len, struct ynode **root, char *err,
		    size_t errlen)
{
	yaml_parser_t p;
	struct builder b;
	int rc = 0;
	bool done = false;

	*root = NULL;
	memset(&b, 0, sizeof b);
	if (!yaml_parser_initialize(&p))
		return err_set(err, errlen, SB_ENOMEM, "out of memory while parsing YAML");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_error(&p, text, len, err, errlen);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&b, &ev, err, errlen);
		if (rc == SB_ENOMEM)
			err_set(err, errlen, SB_ENOMEM, "out of memory while parsing YAML");
		yaml_event_delete(&ev);
		if (rc)
			goto out;
	}
	*root = b.root;
	b.root = NULL;
out:
	spec_tree_free(b.root);
	yaml_parser_delete(&p);
	return rc;
}
