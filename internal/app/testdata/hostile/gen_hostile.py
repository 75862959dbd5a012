# Writes the hostile events of internal/app/hostile_test.go into the current directory: python3 gen_hostile.py
# (each *.json and *.bin is one message published as is on events.installation.requested).
import json, copy, os
ex = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../../schemas/examples/installation.requested.json')))
files = {}
class _D: pass
DEL=_D()
def env(name, data=None, **over):
    e = {"specversion":"1.0","id":"hostile-"+name,"source":"hostile-test","type":"installation.requested",
         "time":"2025-02-11T06:00:00Z","datacontenttype":"application/json","data": copy.deepcopy(ex) if data is None else data}
    if data is DEL: e.pop("data")
    for k,v in over.items():
        if v is DEL: e.pop(k, None)
        else: e[k]=v
    return e
def put(name, obj_or_bytes, ext='json'):
    if isinstance(obj_or_bytes, (bytes, bytearray)):
        b = bytes(obj_or_bytes)
    elif isinstance(obj_or_bytes, str):
        b = obj_or_bytes.encode()
    else:
        b = json.dumps(obj_or_bytes, ensure_ascii=False).encode()
    files[name+'.'+ext] = b
def data_edit(name, fn, **over):
    d = copy.deepcopy(ex); r = fn(d)
    put(name, env(name, d if r is None else r, **over))

def g(i): return json.dumps(env(i), ensure_ascii=False).encode()
good = g("truncated")
put("empty", b"", "bin")
put("whitespace-only", b" \n\t\r ", "bin")
put("truncated-envelope", good[:len(good)//2], "bin")
put("truncated-one-byte-short", g("trunc1")[:-1], "bin")
put("not-json-text", "installation requested for Deneme Müşteri".encode(), "bin")
put("xml", b'<?xml version="1.0"?><event><id>1</id></event>', "bin")
put("single-quotes", b"{'specversion':'1.0','id':'hostile-sq','source':'s','type':'installation.requested','data':{}}", "bin")
put("json-comments", b'{"specversion":"1.0", /* c */ "id":"hostile-comment","source":"s","type":"installation.requested","data":{}}', "bin")
put("trailing-garbage", g("trailing") + b" {}", "bin")
put("two-documents", g("two-a") + b"\n" + g("two-b"), "bin")
put("utf8-bom", b"\xef\xbb\xbf" + g("bom"), "bin")
put("invalid-utf8-in-string", g("badutf8").replace("Deneme".encode(), b"Den\xff\xfeme"), "bin")
put("invalid-utf8-overlong", g("overlong").replace(b"Istanbul", b"Ist\xc0\xafanbul"), "bin")
put("utf16le", json.dumps(env("utf16")).encode("utf-16-le"), "bin")
put("nul-bytes-raw", g("nul").replace(b"Umraniye", b"Umr\x00aniye"), "bin")
put("nul-byte-prefix", b"\x00" + g("nulpre"), "bin")
put("control-chars-raw", g("ctl").replace(b"Umraniye", b"Umr\x01\x1f\x07aniye"), "bin")
put("nan-infinity", b'{"specversion":"1.0","id":"hostile-nan","source":"s","type":"installation.requested","data":{"deviceCount":NaN,"x":Infinity}}', "bin")
put("json-null", b"null", "bin")
put("json-array", b'[{"specversion":"1.0","id":"hostile-arr","source":"s","type":"installation.requested","data":{}}]', "bin")
put("json-string", b'"{\\"specversion\\":\\"1.0\\"}"', "bin")
put("json-number", b"1e999", "bin")
put("deep-nesting-envelope", b"[" * 20000 + b"]" * 20000, "bin")
put("deep-nesting-unclosed", b'{"specversion":"1.0","id":"hostile-unclosed","data":' + b"{\"a\":" * 5000, "bin")
# envelope fields
put("no-specversion", env("nospec", specversion=DEL))
put("specversion-0.3", env("spec03", specversion="0.3"))
put("specversion-number", env("specnum", specversion=1.0))
put("specversion-padded", env("specpad", specversion="1.0 "))
put("no-id", env("noid", id=DEL))
put("id-blank", env("idblank", id="   "))
put("id-number", env("idnum", id=12345))
put("id-too-long", env("idlong", id="hostile-" + "x"*300))
# NATS trims header values: ids that would differ from their own Kopru-Event-Id (issue 11, item 2)
put("id-leading-space", env("idlead", id=" hostile-idlead"))
put("id-trailing-crlf", env("idcrlf", id="hostile-idcrlf\r\n"))
put("id-terminal-escape", env("idesc", id="hostile-\u001b]0;pwned\u0007-idesc"))
put("no-source", env("nosource", source=DEL))
put("no-type", env("notype", type=DEL))
put("type-wrong-for-subject", env("wrongtype", type="customer.created"))
put("type-with-newlines", env("typenl", type="installation.requested\r\nKopru-Error-Class: succeeded"))
put("type-huge", env("typehuge", type="installation.requested." + "ğ"*20000))
put("type-unknown", env("typeunknown", type="installation.requested.v2"))
put("time-not-rfc3339", env("timebad", time="11.2.2025 09:00"))
put("time-number", env("timenum", time=1739253600))
put("datacontenttype-xml", env("dctxml", datacontenttype="application/xml"))
put("no-data", env("nodata", data=DEL))
put("data-null", env("datanull") | {"data": None})
put("data-array", env("dataarr", data=[ex]))
put("data-string", env("datastr", data=json.dumps(ex)))
put("data-number", env("datanum", data=42))
put("data-true", env("databool", data=True))
put("duplicate-id-key-last-empty", '{"specversion":"1.0","id":"hostile-dupkey","id":"","source":"s","type":"installation.requested","data":{}}')
put("envelope-field-object", env("envobj", source={"a": 1}))
# data breaks the schema
data_edit("data-empty-object", lambda d: {})
data_edit("missing-customer", lambda d: d.pop("customer") and None)
data_edit("missing-product", lambda d: d.pop("product") and None)
data_edit("missing-devicecount", lambda d: d.pop("deviceCount") and None)
data_edit("customer-string", lambda d: d.__setitem__("customer", "Deneme Müşteri"))
data_edit("customer-array", lambda d: d.__setitem__("customer", [d["customer"]]))
data_edit("fullname-number", lambda d: d["customer"].__setitem__("fullName", 42))
data_edit("fullname-blank", lambda d: d["customer"].__setitem__("fullName", " \t\u00a0 "))
# Unicode spaces: "\S" in the schema is Go's ASCII class, so these pass it; the mapping trims them to "".
data_edit("city-unicode-space", lambda d: d["customer"].__setitem__("city", "\u2003"))
data_edit("group-ideographic-space", lambda d: d["product"].__setitem__("group", "\u3000"))
data_edit("fullname-too-long", lambda d: d["customer"].__setitem__("fullName", "Ş"*251))
data_edit("address-huge", lambda d: d["customer"].__setitem__("address", "Fatih Sultan Mehmet mahallesi "*2000))
data_edit("mobile-no-digit", lambda d: d["customer"].__setitem__("mobilePhone", "beş üç üç"))
data_edit("city-null", lambda d: d["customer"].__setitem__("city", None))
data_edit("dealer-array", lambda d: d.__setitem__("dealer", [1, 2]))
data_edit("serials-empty", lambda d: d["product"].__setitem__("serialNumbers", []))
data_edit("serials-string", lambda d: d["product"].__setitem__("serialNumbers", "99958,99959"))
data_edit("serial-with-comma", lambda d: d["product"].__setitem__("serialNumbers", ["99958,99959"]))
data_edit("serial-blank", lambda d: d["product"].__setitem__("serialNumbers", ["   "]))
data_edit("serial-number-type", lambda d: d["product"].__setitem__("serialNumbers", [99958]))
data_edit("names-object", lambda d: d["product"].__setitem__("names", {"0": "ECODENSE"}))
data_edit("group-missing", lambda d: d["product"].pop("group") and None)
data_edit("devicecount-string", lambda d: d.__setitem__("deviceCount", "2"))
data_edit("devicecount-zero", lambda d: d.__setitem__("deviceCount", 0))
data_edit("devicecount-negative", lambda d: d.__setitem__("deviceCount", -2))
data_edit("devicecount-over-max", lambda d: d.__setitem__("deviceCount", 10001))
data_edit("devicecount-fraction", lambda d: d.__setitem__("deviceCount", 1.5))
data_edit("devicecount-bool", lambda d: d.__setitem__("deviceCount", True))
put("devicecount-huge-integer", json.dumps(env("dchuge"), ensure_ascii=False).replace('"deviceCount": 2', '"deviceCount": 99999999999999999999999999999999'))
put("devicecount-1e400", json.dumps(env("dc1e400"), ensure_ascii=False).replace('"deviceCount": 2', '"deviceCount": 1e400'))
# valid for the schema (JSON Schema integers include 2.0 and 1e3), refused by the mapping before any call
put("devicecount-2.0", json.dumps(env("dc20"), ensure_ascii=False).replace('"deviceCount": 2', '"deviceCount": 2.0'))
put("devicecount-exponent", json.dumps(env("dcexp"), ensure_ascii=False).replace('"deviceCount": 2', '"deviceCount": 1e3'))
put("lone-surrogate-in-type", '{"specversion":"1.0","id":"hostile-surrogate","source":"s","type":"installation.requested\\ud800","data":{}}')
put("deep-nesting-in-product", json.dumps(env("deepprod", data=ex | {"product": "@@"})).replace('"@@"', "["*3000 + "]"*3000))

import os
for name, b in files.items():
    open(name, "wb").write(b)
print(len(files))
