/* robot.c - Renode's robot port over libcurl and xmlrpc-c (see robot.h).
 *
 * xmlrpc-c (libxmlrpc) writes the methodCall document and parses the
 * methodResponse; libcurl does the HTTP POST with a deadline in
 * milliseconds (CURLOPT_TIMEOUT_MS). Why not xmlrpc-c's own client: its
 * curl transport sets the timeout in whole seconds and notices it on a
 * 3 s select() tick, so a 400 ms deadline became 1-3 s.
 *
 * A curl handle runs one transfer at a time and keeps its connection for
 * the next, so struct robot pools them: a call takes an idle handle (or
 * makes one) and gives it back.
 */
#include "robot.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <xmlrpc-c/base.h>

#define ROBOT_POOL_MAX 8
/* Monitor output (a big `peripherals`, a memory dump) can exceed
 * xmlrpc-c's default 512 KiB limit on a document. */
#define ROBOT_XML_LIMIT (64u * 1024 * 1024)

struct robot {
	char *url;
	int timeout_ms;
	struct curl_slist *headers;    /* read-only once made */
	pthread_mutex_t lock;          /* protects idle, nidle */
	CURL *idle[ROBOT_POOL_MAX];
	size_t nidle;
};

/* ---- process-wide set-up ------------------------------------------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static bool global_ok;

static void global_init(void)
{
	/* Thread-safe in the curl Debian 12 ships (7.88), and run once here
	 * in any case; never undone: emufs uses it until it exits. */
	global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, ROBOT_XML_LIMIT);
}

/* ---- results ------------------------------------------------------- */

/* The one table from an outcome to -errno. A failed keyword (the monitor
 * refused the line) means something else for each kind of request, in
 * the column of that kind (enum robot_ask). */
static const struct {
	enum robot_status status;
	int err[ROBOT_ASK_COUNT];
} errno_table[] = {
	/*                 COMMAND      QUERY       NAME */
	{ ROBOT_PASS,    { 0,           0,          0 } },
	{ ROBOT_FAIL,    { -EINVAL,     -EIO,       -ENOENT } },
	{ ROBOT_FAULT,   { -EIO,        -EIO,       -EIO } },
	{ ROBOT_NOREPLY, { -EIO,        -EIO,       -EIO } },
	{ ROBOT_TIMEOUT, { -ETIMEDOUT,  -ETIMEDOUT, -ETIMEDOUT } },
};

int robot_errno(const struct robot_result *res)
{
	for (size_t i = 0; i < sizeof errno_table / sizeof errno_table[0];
	     i++)
		if (errno_table[i].status == res->status)
			return errno_table[i].err[ROBOT_ASK_COMMAND];
	return -EIO;
}

int robot_errno_as(int rc, enum robot_ask ask)
{
	for (size_t i = 0; i < sizeof errno_table / sizeof errno_table[0];
	     i++)
		if (errno_table[i].err[ROBOT_ASK_COMMAND] == rc)
			return errno_table[i].err[ask];
	return rc;         /* not the robot's (ESRCH, ENOMEM, ...) */
}

void robot_result_clear(struct robot_result *res)
{
	free(res->ret);
	free(res->error);
	memset(res, 0, sizeof *res);
}

static int set_error(struct robot_result *res, enum robot_status st,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int set_error(struct robot_result *res, enum robot_status st,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(res->error);
	if (vasprintf(&res->error, fmt, ap) < 0)
		res->error = NULL;
	va_end(ap);
	res->status = st;
	return robot_errno(res);
}

const char *robot_error_line(const struct robot_result *res, char *buf,
			     size_t len)
{
	const char *e = res->error ? res->error : "";
	/* "KeywordException: Could not ..." -> "Could not ..." */
	size_t id = strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
			   "vwxyz0123456789_.");
	if (id && e[id] == ':' && e[id + 1] == ' ')
		e += id + 2;
	snprintf(buf, len, "%.*s", (int)strcspn(e, "\r\n"), e);
	return buf;
}

/* A returned value as text: strings as they are, numbers in decimal,
 * booleans as .NET prints them, arrays one item a line. */
static char *value_text(xmlrpc_env *env, xmlrpc_value *v)
{
	char *out = NULL;
	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_STRING: {
		const char *s;
		size_t n;
		xmlrpc_read_string_lp(env, v, &n, &s);
		if (env->fault_occurred)
			return NULL;
		out = strndup(s, n);
		free((void *)s);
		return out;
	}
	case XMLRPC_TYPE_INT: {
		int i;
		xmlrpc_read_int(env, v, &i);
		return !env->fault_occurred && asprintf(&out, "%d", i) >= 0
			       ? out : NULL;
	}
	case XMLRPC_TYPE_I8: {
		xmlrpc_int64 i;
		xmlrpc_read_i8(env, v, &i);
		return !env->fault_occurred &&
				       asprintf(&out, "%" PRId64, (int64_t)i) >= 0
			       ? out : NULL;
	}
	case XMLRPC_TYPE_BOOL: {
		xmlrpc_bool b;
		xmlrpc_read_bool(env, v, &b);
		return env->fault_occurred ? NULL : strdup(b ? "True" : "False");
	}
	case XMLRPC_TYPE_DOUBLE: {
		double d;
		xmlrpc_read_double(env, v, &d);
		return !env->fault_occurred && asprintf(&out, "%.17g", d) >= 0
			       ? out : NULL;
	}
	case XMLRPC_TYPE_NIL:
		return strdup("");
	case XMLRPC_TYPE_ARRAY: {
		size_t len = 0;
		int n = xmlrpc_array_size(env, v);
		out = strdup("");
		for (int i = 0; out && i < n && !env->fault_occurred; i++) {
			xmlrpc_value *it;
			xmlrpc_array_read_item(env, v, i, &it);
			if (env->fault_occurred)
				break;
			char *t = value_text(env, it);
			xmlrpc_DECREF(it);
			if (!t)
				break;
			size_t tl = strlen(t);
			char *grown = realloc(out, len + tl + 2);
			if (grown) {
				memcpy(grown + len, t, tl);
				len += tl;
				grown[len++] = '\n';
				grown[len] = '\0';
			}
			free(t);
			out = grown;
		}
		if (env->fault_occurred) {
			free(out);
			return NULL;
		}
		return out;
	}
	default:
		return NULL;
	}
}

/* A member of the result struct as text, or NULL when absent. */
static char *member_text(xmlrpc_env *env, xmlrpc_value *st, const char *key)
{
	xmlrpc_value *v = NULL;
	xmlrpc_struct_find_value(env, st, key, &v);
	if (env->fault_occurred || !v)
		return NULL;
	char *t = value_text(env, v);
	xmlrpc_DECREF(v);
	return t;
}

/* run_keyword's answer: {"status": PASS|FAIL, "return"?, "error"?}. */
static int interpret(xmlrpc_value *v, struct robot_result *res)
{
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	int rc;
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT) {
		rc = set_error(res, ROBOT_NOREPLY,
			       "run_keyword answered with a %s, not a struct",
			       xmlrpc_type_name(xmlrpc_value_type(v)));
		goto out;
	}
	char *status = member_text(&env, v, "status");
	if (status && !strcmp(status, "PASS")) {
		res->status = ROBOT_PASS;
		res->ret = member_text(&env, v, "return");
		if (!res->ret && !env.fault_occurred)
			res->ret = strdup("");
		rc = res->ret ? 0
			      : set_error(res, ROBOT_NOREPLY,
					  "unreadable \"return\" in the answer");
	} else if (status && !strcmp(status, "FAIL")) {
		res->status = ROBOT_FAIL;
		res->error = member_text(&env, v, "error");
		if (!res->error || !*res->error) {
			free(res->error);
			res->error = strdup("the keyword failed without "
					    "a message");
		}
		rc = robot_errno(res);
	} else {
		rc = set_error(res, ROBOT_NOREPLY,
			       "run_keyword answered with status \"%s\"",
			       status ? status : "(none)");
	}
	free(status);
out:
	xmlrpc_env_clean(&env);
	return rc;
}

/* ---- the client ---------------------------------------------------- */

struct robot *robot_new(const char *host, int port, int timeout_ms)
{
	pthread_once(&global_once, global_init);
	if (!global_ok)
		return NULL;
	struct robot *rb = calloc(1, sizeof *rb);
	if (!rb)
		return NULL;
	pthread_mutex_init(&rb->lock, NULL);
	rb->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	struct curl_slist *h = curl_slist_append(NULL,
						 "Content-Type: text/xml");
	/* No "Expect: 100-continue" round trip before the body. */
	if (h && !(rb->headers = curl_slist_append(h, "Expect:")))
		curl_slist_free_all(h);
	if (!rb->headers ||
	    asprintf(&rb->url, "http://%s:%d/", host, port) < 0) {
		rb->url = NULL;
		robot_free(rb);
		return NULL;
	}
	return rb;
}

void robot_free(struct robot *rb)
{
	if (!rb)
		return;
	for (size_t i = 0; i < rb->nidle; i++)
		curl_easy_cleanup(rb->idle[i]);
	curl_slist_free_all(rb->headers);
	pthread_mutex_destroy(&rb->lock);
	free(rb->url);
	free(rb);
}

static CURL *handle_get(struct robot *rb)
{
	CURL *h = NULL;
	pthread_mutex_lock(&rb->lock);
	if (rb->nidle)
		h = rb->idle[--rb->nidle];
	pthread_mutex_unlock(&rb->lock);
	return h ? h : curl_easy_init();
}

static void handle_put(struct robot *rb, CURL *h)
{
	pthread_mutex_lock(&rb->lock);
	if (rb->nidle < ROBOT_POOL_MAX) {
		rb->idle[rb->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&rb->lock);
	if (h)
		curl_easy_cleanup(h);
}

struct body {
	char *data;
	size_t len, cap;
	bool too_big;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *opaque)
{
	struct body *b = opaque;
	size_t n = size * nmemb;
	if (b->len + n + 1 > ROBOT_XML_LIMIT) {
		b->too_big = true;
		return 0;                /* curl aborts the transfer */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* POST the document; the answer's body into b. */
static int post(struct robot *rb, const char *doc, size_t len,
		struct body *b, struct robot_result *res)
{
	CURL *h = handle_get(rb);
	if (!h)
		return set_error(res, ROBOT_NOREPLY, "cannot make a curl "
				 "handle");
	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, rb->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_PROXY, "");    /* never $http_proxy */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)rb->timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, rb->headers);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, doc);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	handle_put(rb, h);

	if (cc == CURLE_OPERATION_TIMEDOUT)
		return set_error(res, ROBOT_TIMEOUT,
				 "no answer from %s within %d ms", rb->url,
				 rb->timeout_ms);
	if (b->too_big)
		return set_error(res, ROBOT_NOREPLY, "%s: the answer is "
				 "larger than %u bytes", rb->url,
				 ROBOT_XML_LIMIT);
	if (cc != CURLE_OK)
		return set_error(res, ROBOT_NOREPLY, "%s: %s", rb->url,
				 err[0] ? err : curl_easy_strerror(cc));
	if (status != 200)
		return set_error(res, ROBOT_NOREPLY, "%s: HTTP status %ld",
				 rb->url, status);
	return 0;
}

/* One XML-RPC call; *result (a reference) on success. */
static int call(struct robot *rb, const char *method, xmlrpc_value *params,
		xmlrpc_value **result, struct robot_result *res)
{
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	*result = NULL;
	xmlrpc_mem_block *doc = xmlrpc_mem_block_new(&env, 0);
	if (!env.fault_occurred)
		xmlrpc_serialize_call2(&env, doc, method, params,
				       xmlrpc_dialect_i8);
	if (env.fault_occurred) {
		/* Not valid UTF-8, or out of memory: never sent. */
		int rc = set_error(res, ROBOT_FAIL, "cannot encode the call: "
				   "%s", env.fault_string);
		if (doc)
			xmlrpc_mem_block_free(doc);
		xmlrpc_env_clean(&env);
		return rc;
	}
	struct body b = { 0 };
	int rc = post(rb, xmlrpc_mem_block_contents(doc),
		      xmlrpc_mem_block_size(doc), &b, res);
	xmlrpc_mem_block_free(doc);
	if (rc == 0) {
		int code = 0;
		const char *fault = NULL;
		xmlrpc_parse_response2(&env, b.data ? b.data : "", b.len,
				       result, &code, &fault);
		if (env.fault_occurred) {
			rc = set_error(res, ROBOT_NOREPLY, "%s: not an XML-RPC "
				       "answer: %s", rb->url,
				       env.fault_string);
		} else if (fault) {
			res->fault_code = code;
			rc = set_error(res, ROBOT_FAULT, "fault %d: %s", code,
				       fault);
			free((void *)fault);
		}
	}
	free(b.data);
	xmlrpc_env_clean(&env);
	return rc;
}

int robot_run_keyword(struct robot *rb, const char *keyword,
		      const char *const *args, size_t nargs,
		      struct robot_result *res)
{
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	memset(res, 0, sizeof *res);
	xmlrpc_value *arr = xmlrpc_array_new(&env);
	for (size_t i = 0; i < nargs && !env.fault_occurred; i++) {
		xmlrpc_value *s = xmlrpc_string_new(&env, args[i]);
		if (env.fault_occurred)
			break;
		xmlrpc_array_append_item(&env, arr, s);
		xmlrpc_DECREF(s);
	}
	xmlrpc_value *params = NULL;
	if (!env.fault_occurred)
		params = xmlrpc_build_value(&env, "(sV)", keyword, arr);
	if (arr)
		xmlrpc_DECREF(arr);
	if (env.fault_occurred) {
		/* Not valid UTF-8, or out of memory: never sent. */
		int rc = set_error(res, ROBOT_FAIL,
				   "cannot encode the call: %s",
				   env.fault_string);
		if (params)
			xmlrpc_DECREF(params);
		xmlrpc_env_clean(&env);
		return rc;
	}
	xmlrpc_env_clean(&env);
	xmlrpc_value *result;
	int rc = call(rb, "run_keyword", params, &result, res);
	xmlrpc_DECREF(params);
	if (rc == 0 && result) {
		rc = interpret(result, res);
		xmlrpc_DECREF(result);
	}
	return rc;
}

int robot_execute(struct robot *rb, const char *line,
		  struct robot_result *res)
{
	return robot_run_keyword(rb, "ExecuteCommand", &line, 1, res);
}

int robot_stop_server(struct robot *rb)
{
	xmlrpc_env env;
	xmlrpc_env_init(&env);
	xmlrpc_value *params = xmlrpc_array_new(&env);
	xmlrpc_env_clean(&env);
	if (!params)
		return -ENOMEM;
	struct robot_result res = { 0 };
	xmlrpc_value *result;
	int rc = call(rb, "stop_remote_server", params, &result, &res);
	xmlrpc_DECREF(params);
	if (rc == 0 && result)
		xmlrpc_DECREF(result);
	if (res.status == ROBOT_NOREPLY)
		rc = 0;         /* it may close before it answers */
	robot_result_clear(&res);
	return rc;
}
