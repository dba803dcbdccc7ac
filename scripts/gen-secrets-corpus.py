#!/usr/bin/env python3
"""Generate tests/fixtures/secrets/corpus.txt: one block per secret shape, each with canaries.

Every block is
    ## shape: <name>
    ## canary: <text that must never appear in a bundle, stdout or stderr>
    <lines as a tool prints them>
    ## end
Keys (PEM, PGP-style, PuTTY, PFX) are generated with openssl; the canary of a base64 blob is a
distinctive run from its middle. Run from the repository root; the output is committed.
"""
import base64, json, os, random, subprocess, tempfile

rnd = random.Random(20261125)
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
blocks = []


def tok(n, alphabet=ALNUM + "-_"):
    return "".join(rnd.choice(alphabet) for _ in range(n))


def canary(prefix="Cn"):
    return prefix + tok(4, "0123456789") + "x" + tok(12, ALNUM)


def block(shape, canaries, text):
    blocks.append((shape, canaries, text))


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def jwt():
    h = b64url(json.dumps({"typ": "JWT", "alg": "RS256", "x5t": tok(27)}).encode())
    p = b64url(json.dumps({"aud": "https://management.azure.com", "oid": tok(36), "n": tok(40)}).encode())
    s = b64url(os.urandom(96))
    return f"{h}.{p}.{s}"


def openssl(*args, inp=None):
    return subprocess.run(["openssl", *args], input=inp, capture_output=True, check=True).stdout


with tempfile.TemporaryDirectory() as d:
    # A real RSA key whose body contains "eyJ" (the JWT rule once cut it short).
    for _ in range(400):
        pem = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048").decode()
        body = "".join(pem.strip().splitlines()[1:-1])
        if "eyJ" in body:
            break
    else:
        raise SystemExit("no key with eyJ")
    lines = pem.strip().splitlines()
    block("rsa-key-containing-eyJ", [l for l in lines[1:-1] if len(l) >= 40][::3], pem.strip())
    ec = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256").decode()
    block("ec-key-in-json-string", [ec.strip().splitlines()[1][8:40]],
          json.dumps({"privateKey": ec}))
    # PGP-style armoured private key block (PGP armour headers, an e-mail address in a comment).
    pgp_body = base64.b64encode(os.urandom(300)).decode()
    pgp = ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\nComment: alice@contoso.com\n\n"
           + "\n".join(pgp_body[i:i + 64] for i in range(0, len(pgp_body), 64))
           + "\n=" + tok(4, ALNUM) + "\n-----END PGP PRIVATE KEY BLOCK-----")
    block("pgp-private-key", [pgp_body[70:110], pgp_body[200:240]], pgp)
    # PuTTY .ppk
    priv = base64.b64encode(os.urandom(48)).decode()
    mac = os.urandom(32).hex()
    block("putty-private-key", [priv[4:36], mac[8:40]],
          "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20261125\n"
          "Public-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIOv2\nn3q8ZtJkL0\nPrivate-Lines: 1\n" + priv + "\nPrivate-MAC: " + mac)
    # PFX (PKCS#12) base64 blob, as Get-AzKeyVaultSecret / az keyvault secret show print it.
    key = os.path.join(d, "k.pem"); crt = os.path.join(d, "c.pem"); pfx = os.path.join(d, "p.pfx")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-subj", "/CN=app", "-days", "1"], capture_output=True, check=True)
    subprocess.run(["openssl", "pkcs12", "-export", "-inkey", key, "-in", crt, "-out", pfx, "-passout", "pass:"],
                   capture_output=True, check=True)
    blob = base64.b64encode(open(pfx, "rb").read()).decode()
    block("pfx-base64-json", [blob[300:340], blob[1500:1540]], json.dumps({"value": blob, "contentType": "application/x-pkcs12"}))
    block("pfx-base64-bare", [blob[600:640]], "PFX: " + blob)
    # PKCS#1 DER key without armour, wrapped at 64 columns.
    der = openssl("pkey", "-in", key, "-traditional", "-outform", "DER")
    b = base64.b64encode(der).decode()
    block("der-key-wrapped", [b[100:140], b[900:940]], "\n".join(b[i:i + 64] for i in range(0, len(b), 64)))

# Headers and fields
c = canary(); block("x-ms-refresh-token-header", [c], f"x-ms-refresh-token: 0.AXYA{c}{tok(60)}")
c = canary(); block("x-ms-token-aad-id-token-header", [c], f"X-MS-TOKEN-AAD-ID-TOKEN: {c}{tok(30)}")
c = canary(); block("format-list-secrettext", [c], f"\nSecretText  : {c}\nKeyId       : 0a1b2c3d-0000-4000-8000-00000000000a\nStartDateTime : 11/25/2026 6:00:00 AM")
c = canary(); block("graph-secrettext-json", [c], json.dumps({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential", "secretText": c, "keyId": "0a1b2c3d-0000-4000-8000-00000000000a"}, indent=2))
c = canary(); block("yaml-client-secret", [c], f"auth:\n  client_id: 0a1b2c3d\n  client_secret: {c}\n  tenant: contoso")
c = canary(); block("odbc-pwd", [c], f"Driver={{ODBC Driver 18}};Server=tcp:db.database.windows.net;Uid=app;Pwd={c};Encrypt=yes")
c = canary(); block("odbc-pwd-braced", [c], f"Server=db;User ID=app;Password={{{c};x}};")
c = canary(); block("ansi-coloured-json", [c], f'\x1b[1;34m"accessToken"\x1b[0m: \x1b[32m"{c}{tok(20)}"\x1b[0m,')
c = canary(); block("ansi-split-secret", [c], f'"refreshToken": "{c[:8]}\x1b[0m{c[8:]}"')
c = canary(); block("utf16le-json", [c], json.dumps({"access_token": c}).encode("utf-16-le").decode("latin-1").replace("\x00", "\x00"))
t = jwt(); block("token-wrapped-continuation", [t[20:60], t[-40:]], f"AccessToken : {t[:70]}\n              {t[70:150]}\n              {t[150:]}\nExpiresOn   : 11/25/2026 7:00:00 AM")
t = jwt(); block("jwt-split-over-lines", [t[40:80], t[-40:]], f"token={t[:13]}\n{t[13:]}")
t = jwt(); block("jwt-split-by-interleaving", [t[60:100], t[-40:]], f"DEBUG: Bearer {t[:9]}\nWARNING: unrelated stderr line\n{t[9:]}")
c = canary(); block("url-encoded-authorization", [c], f"header=Authorization%3A+Basic+{c}&x=1")
c = canary(); block("json-value-split-by-newline", [c], f'{{"client_secret":\n  "{c}"}}')
c = canary(); block("json-value-broken-mid-string", [c], f'{{"password": "{c[:9]}\n{c[9:]}"}}')
c = base64.b64encode(os.urandom(64)).decode(); block("primary-key", [c[10:50]], json.dumps({"primaryKey": c, "secondaryKey": c[::-1]}, indent=2))
k1 = base64.b64encode(os.urandom(64)).decode(); k2 = base64.b64encode(os.urandom(64)).decode()
block("storage-keys-value", [k1[10:50], k2[10:50]], json.dumps([
    {"creationTime": "2026-11-01T00:00:00Z", "keyName": "key1", "permissions": "FULL", "value": k1},
    {"creationTime": "2026-11-01T00:00:00Z", "keyName": "key2", "permissions": "FULL", "value": k2}], indent=2, sort_keys=True))
c = canary(); block("json-secret-cut-no-closing-quote", [c], f'{{"tokenType": "Bearer", "accessToken": "{c}{tok(30)}')
# Earlier shapes, kept as regressions.
c = canary(); block("authorization-bearer", [c], f"Authorization: Bearer {c}{tok(20)}")
c = canary(); block("python-dict-authorization", [c], f"{{'Authorization': 'Basic {c}'}}")
c = canary(); block("set-cookie", [c], f"Set-Cookie: esctx={c}; path=/; secure")
c = canary(); block("form-client-secret", [c], f"grant_type=client_credentials&client_secret={c}&scope=x")
c = canary(); block("query-code", [c], f"GET /?code={c}&state=abc HTTP/1.1")
c = canary(); block("storage-connection-string", [c], f"AccountName=st1;AccountKey={c}==;EndpointSuffix=core.windows.net")
c = canary(); block("sas-url", [c], f"https://st1.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig={c}%3D")
c = canary(); block("proxy-url-credentials", [c], f"HTTPS_PROXY=http://alice:{c}@proxy.contoso.com:8080")
c = canary(); block("proxy-url-no-scheme", [c], f"proxy alice:{c}@proxy:3128 refused")
c = canary(); block("proxy-url-raw-slash-hash", [c], f"using http://bob:{c[:6]}/#?{c[6:]}@10.0.0.1:3128 for https")
c = canary(); block("ps-convertto-securestring", [c], f"$s = ConvertTo-SecureString '{c}' -AsPlainText -Force")
c = canary(); block("ps-pipe-securestring", [c], f"'{c}' | ConvertTo-SecureString -AsPlainText -Force")
c = canary(); block("ps-networkcredential", [c], f"[Net.NetworkCredential]::new('', '{c}').Password")
c = canary(); block("ps-env-assignment", [c], f"$env:AZURE_CLIENT_SECRET='{c}'")
c = canary(); block("ps-clientsecret-colon-space", [c], f"Connect-AzAccount -ServicePrincipal -ClientSecret: {c} -Tenant t")
c = canary(); block("az-arguments-attached-p", [c], f"DEBUG: cli.knack.cli: Command arguments: ['login', '--service-principal', '-u', 'app', '-p{c}', '--tenant', 't']")
c = canary(); block("az-arguments-abbreviation", [c], f"DEBUG: cli.knack.cli: Command arguments: ['login', '--service-principal', '-u', 'app', '--passw={c}']")
c = canary(); block("refresh-token-bare", [c], f"rt 0.AXYA{c}{tok(50)}")
c = canary(); block("device-code-json", [c], json.dumps({"device_code": c, "user_code": "ABCD1234"}))
c = tok(40, "0123456789abcdef"); block("hex-secret-near-keyword", [c], f"client secret (hex): {c}")

with open("tests/fixtures/secrets/corpus.txt", "w", encoding="utf-8", newline="\n") as f:
    for shape, cans, text in blocks:
        f.write(f"## shape: {shape}\n")
        for c in cans:
            f.write(f"## canary: {c}\n")
        f.write(text.rstrip("\n") + "\n## end\n")
print(len(blocks), "shapes,", sum(len(c) for _, c, _ in blocks), "canaries")
