/* Stand-in for Azure CLI's python.exe (the Wine suite, tests/windows_wine.rs).
 *
 * The MSI installs ...\CLI2\wbin\az.cmd, which runs `...\CLI2\python.exe -IBm azure.cli %*`
 * (Azure/azure-cli build_scripts/windows/scripts/az_msi.cmd); entra-collect also asks that
 * python.exe for its OpenSSL and certifi (`python.exe -c CODE`). This program answers both:
 *
 *   -c CODE                     one JSON line: its own path, Python 3.12.8, an OpenSSL version
 *                               and certifi's bundle (Lib\site-packages\certifi\cacert.pem
 *                               next to the exe)
 *   -IBm azure.cli version ...  `az version -o json`
 *   -IBm azure.cli --version    `az --version`
 *   -IBm azure.cli login ...    what `az login --debug` logs: the argument list as Python's
 *                               repr() (cli.knack.cli: Command arguments: [...]), then a sign-in
 *                               error, exit 1
 *
 * Every invocation appends its argv (as the C runtime parsed it, like Python's own startup
 * does) to python-args.log next to the exe: one line per invocation, each argument as hex of
 * its UTF-8 bytes, so the test can see what survived cmd.exe's batch-file argument handling.
 * FAKE_AZ_SLEEP=N sleeps N seconds first (a hanging sign-in). Output is UTF-8.
 *
 * Build: x86_64-w64-mingw32-gcc -municode -O2 -o python.exe fakepython.c */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static char *utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = malloc(n > 0 ? n : 1);
    if (n <= 0) { s[0] = 0; return s; }
    WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

static void out(HANDLE h, const char *s)
{
    DWORD n;
    WriteFile(h, s, (DWORD)strlen(s), &n, NULL);
}

static void log_argv(int argc, wchar_t **argv)
{
    wchar_t path[MAX_PATH];
    DWORD len = GetModuleFileNameW(NULL, path, MAX_PATH);
    wchar_t *slash = wcsrchr(path, L'\\');
    if (len == 0 || !slash) return;
    wcscpy(slash + 1, L"python-args.log");
    FILE *f = _wfopen(path, L"ab");
    if (!f) return;
    fputs("argv", f);
    for (int i = 1; i < argc; i++) {
        char *s = utf8(argv[i]);
        fputc(' ', f);
        if (!*s) fputs("-", f); /* an empty argument */
        for (unsigned char *p = (unsigned char *)s; *p; p++) fprintf(f, "%02x", *p);
        free(s);
    }
    fputs("\n", f);
    fclose(f);
}

/* Append Python's repr() of a str to b (at k): single quotes unless the text has ' and no ". */
static size_t repr(wchar_t *b, size_t k, const wchar_t *w)
{
    int dq = wcschr(w, L'\'') && !wcschr(w, L'"');
    wchar_t q = dq ? L'"' : L'\'';
    b[k++] = q;
    for (const wchar_t *p = w; *p; p++) {
        if (*p == L'\\' || *p == q) { b[k++] = L'\\'; b[k++] = *p; }
        else if (*p == L'\n') { b[k++] = L'\\'; b[k++] = L'n'; }
        else if (*p == L'\r') { b[k++] = L'\\'; b[k++] = L'r'; }
        else if (*p == L'\t') { b[k++] = L'\\'; b[k++] = L't'; }
        else if (*p < 0x20 || *p == 0x7f) k += swprintf(b + k, 5, L"\\x%02x", *p);
        else b[k++] = *p;
    }
    b[k++] = q;
    return k;
}

/* UTF-8 of a path with `\\` and `"` escaped for a JSON string. */
static char *json_path(const wchar_t *w)
{
    char *s = utf8(w);
    char *j = malloc(strlen(s) * 2 + 1), *q = j;
    for (char *p = s; *p; p++) {
        if (*p == '\\' || *p == '"') *q++ = '\\';
        *q++ = *p;
    }
    *q = 0;
    free(s);
    return j;
}

int wmain(int argc, wchar_t **argv)
{
    HANDLE so = GetStdHandle(STD_OUTPUT_HANDLE), se = GetStdHandle(STD_ERROR_HANDLE);
    wchar_t sleep[16];
    log_argv(argc, argv);
    if (GetEnvironmentVariableW(L"FAKE_AZ_SLEEP", sleep, 16) > 0)
        Sleep((DWORD)_wtoi(sleep) * 1000);
    if (argc >= 2 && !wcscmp(argv[1], L"-c")) {
        /* certifi's bundle sits under the Python: <dir>\Lib\site-packages\certifi\cacert.pem */
        wchar_t path[MAX_PATH + 64];
        DWORD len = GetModuleFileNameW(NULL, path, MAX_PATH);
        wchar_t *slash = wcsrchr(path, L'\\');
        if (len == 0 || !slash) return 70;
        /* One JSON object, as entra-collect's facts snippet prints it (paths JSON-escaped). */
        char *exe = json_path(path);
        wcscpy(slash + 1, L"Lib\\site-packages\\certifi\\cacert.pem");
        char *s = json_path(path);
        out(so, "{\"python_location\": \"");
        out(so, exe);
        out(so, "\", \"python_version\": \"3.12.8\", \"python_platform\": \"Windows\", "
                "\"openssl\": \"OpenSSL 3.0.15 3 Sep 2024\", \"certifi\": \"");
        out(so, s);
        out(so, "\"}\r\n");
        free(exe);
        free(s);
        return 0;
    }
    if (argc < 3 || wcscmp(argv[1], L"-IBm") || wcscmp(argv[2], L"azure.cli")) {
        out(se, "fake python.exe: unexpected arguments\r\n");
        return 64;
    }
    if (argc >= 4 && !wcscmp(argv[3], L"version")) {
        out(so, "{\r\n  \"azure-cli\": \"2.77.0\",\r\n  \"azure-cli-core\": \"2.77.0\",\r\n"
                "  \"azure-cli-telemetry\": \"1.1.0\",\r\n  \"extensions\": {}\r\n}\r\n");
        return 0;
    }
    if (argc >= 4 && !wcscmp(argv[3], L"--version")) {
        out(so, "azure-cli                         2.77.0\r\n\r\ncore                              2.77.0\r\n"
                "telemetry                          1.1.0\r\n\r\nDependencies:\r\nmsal                            1.33.0\r\n\r\n"
                "Python location 'C:\\Program Files\\Microsoft SDKs\\Azure\\CLI2\\python.exe'\r\n"
                "Python (Windows) 3.12.10 (tags/v3.12.10:0cc8128, Apr  8 2025, 12:21:36) [MSC v.1943 64 bit (AMD64)]\r\n");
        return 0;
    }
    /* One write for the whole line, as Python's line-buffered stderr does. */
    size_t cap = 64, k = 0;
    for (int i = 3; i < argc; i++) cap += wcslen(argv[i]) * 6 + 4;
    wchar_t *line = malloc(cap * sizeof(wchar_t));
    k += swprintf(line, cap, L"DEBUG: cli.knack.cli: Command arguments: [");
    for (int i = 3; i < argc; i++) {
        if (i > 3) { line[k++] = L','; line[k++] = L' '; }
        k = repr(line, k, argv[i]);
    }
    line[k++] = L']'; line[k++] = L'\r'; line[k++] = L'\n'; line[k] = 0;
    char *s = utf8(line);
    out(se, s);
    free(s);
    free(line);
    out(se, "ERROR: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
            "request is the client secret value, not the client secret ID.\r\n");
    return 1;
}
