// Code that verifies this relay's signatures (SPEC 5), per scheme and language, with the receiver
// libraries people use for each scheme: standardwebhooks / svix, stripe, @octokit/webhooks-methods,
// and plain HMAC (or Ed25519) where there is none.

export const LANGUAGES = ['Node.js', 'Python', 'Go', 'PHP'] as const;
export type Language = (typeof LANGUAGES)[number];

/** How an endpoint signs, as the API shows it. */
export interface Signature {
  scheme: string;
  header?: string;
  encoding?: 'hex' | 'base64';
  prefix?: string;
  public_key?: string;
}

/** What to install for this scheme and language, or null when nothing beyond the standard library is needed. */
export function install(sig: Signature, lang: Language): string | null {
  const table: Record<string, Partial<Record<Language, string>>> = {
    'standard-webhooks': {
      'Node.js': 'npm install standardwebhooks',
      Python: 'pip install svix',
      Go: 'go get github.com/svix/svix-webhooks/go',
      PHP: 'composer require svix/svix',
    },
    stripe: {
      'Node.js': 'npm install stripe',
      Python: 'pip install stripe',
      Go: 'go get github.com/stripe/stripe-go/v76',
      PHP: 'composer require stripe/stripe-php',
    },
    github: { 'Node.js': 'npm install @octokit/webhooks-methods', Go: 'go get github.com/google/go-github/v60' },
  };
  return table[sig.scheme]?.[lang] ?? null;
}

/** The verification code for `sig` in `lang`. */
export function snippet(sig: Signature, lang: Language): string {
  switch (sig.scheme) {
    case 'standard-webhooks':
      return standardWebhooks[lang];
    case 'stripe':
      return stripe[lang];
    case 'github':
      return github[lang];
    case 'hmac-sha256':
      return hmac(sig, lang);
    case 'ed25519':
      return ed25519(sig.public_key ?? 'whpk_…')[lang];
    default:
      return '// This endpoint does not sign its requests: there is nothing to verify.';
  }
}

const standardWebhooks: Record<Language, string> = {
  'Node.js': `import express from 'express';
import { Webhook } from 'standardwebhooks';

const wh = new Webhook(process.env.WEBHOOK_SECRET); // whsec_…
const app = express();

// The raw body: the signature covers the exact bytes sent.
app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => {
  let event;
  try {
    event = wh.verify(req.body.toString('utf8'), req.headers);
  } catch {
    return res.status(400).send('invalid signature');
  }
  // webhook-id is the same on every retry: use it to skip duplicates.
  console.log(req.headers['webhook-id'], event.type, event.data);
  res.sendStatus(204);
});`,
  Python: `import os
from flask import Flask, abort, request
from svix.webhooks import Webhook, WebhookVerificationError

wh = Webhook(os.environ["WEBHOOK_SECRET"])  # whsec_…
app = Flask(__name__)

@app.post("/webhooks")
def webhooks():
    try:
        # The raw body: the signature covers the exact bytes sent.
        event = wh.verify(request.get_data(), dict(request.headers))
    except WebhookVerificationError:
        abort(400)
    print(request.headers["webhook-id"], event["type"], event["data"])
    return "", 204`,
  Go: `package main

import (
	"io"
	"net/http"
	"os"

	svix "github.com/svix/svix-webhooks/go"
)

func main() {
	wh, err := svix.NewWebhook(os.Getenv("WEBHOOK_SECRET")) // whsec_…
	if err != nil {
		panic(err)
	}
	http.HandleFunc("/webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // the raw body: the signature covers these bytes
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		// handle body; r.Header.Get("webhook-id") is the same on every retry
		w.WriteHeader(http.StatusNoContent)
	})
	http.ListenAndServe(":8000", nil)
}`,
  PHP: `<?php
require 'vendor/autoload.php';

$wh = new \\Svix\\Webhook(getenv('WEBHOOK_SECRET')); // whsec_…
$payload = file_get_contents('php://input'); // the raw body: the signature covers these bytes
$headers = array_change_key_case(getallheaders(), CASE_LOWER);

try {
    $event = $wh->verify($payload, $headers);
} catch (\\Exception $e) {
    http_response_code(400);
    exit('invalid signature');
}
// handle $event['type'], $event['data']; $headers['webhook-id'] is the same on every retry
http_response_code(204);`,
};

const stripe: Record<Language, string> = {
  'Node.js': `import express from 'express';
import Stripe from 'stripe';

const stripe = new Stripe('unused'); // only its webhook helpers are used
const app = express();

app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => {
  let event;
  try {
    event = stripe.webhooks.constructEvent(req.body, req.headers['stripe-signature'], process.env.WEBHOOK_SECRET);
  } catch {
    return res.status(400).send('invalid signature');
  }
  console.log(event.type, event.data);
  res.sendStatus(204);
});`,
  Python: `import os
import stripe
from flask import Flask, abort, request

app = Flask(__name__)

@app.post("/webhooks")
def webhooks():
    try:
        event = stripe.Webhook.construct_event(
            request.get_data(), request.headers["Stripe-Signature"], os.environ["WEBHOOK_SECRET"]
        )
    except (ValueError, stripe.error.SignatureVerificationError):
        abort(400)
    print(event["type"], event["data"])
    return "", 204`,
  Go: `package main

import (
	"io"
	"net/http"
	"os"

	"github.com/stripe/stripe-go/v76/webhook"
)

func main() {
	http.HandleFunc("/webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// ValidatePayload checks the signature and its age (5 minutes).
		if err := webhook.ValidatePayload(body, r.Header.Get("Stripe-Signature"), os.Getenv("WEBHOOK_SECRET")); err != nil {
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		// handle body (JSON)
		w.WriteHeader(http.StatusNoContent)
	})
	http.ListenAndServe(":8000", nil)
}`,
  PHP: `<?php
require 'vendor/autoload.php';

$payload = file_get_contents('php://input');
try {
    $event = \\Stripe\\Webhook::constructEvent($payload, $_SERVER['HTTP_STRIPE_SIGNATURE'], getenv('WEBHOOK_SECRET'));
} catch (\\Exception $e) {
    http_response_code(400);
    exit('invalid signature');
}
// handle $event->type, $event->data
http_response_code(204);`,
};

const github: Record<Language, string> = {
  'Node.js': `import express from 'express';
import { verify } from '@octokit/webhooks-methods';

const app = express();

app.post('/webhooks', express.raw({ type: 'application/json' }), async (req, res) => {
  const body = req.body.toString('utf8');
  if (!(await verify(process.env.WEBHOOK_SECRET, body, req.headers['x-hub-signature-256']))) {
    return res.status(400).send('invalid signature');
  }
  const event = JSON.parse(body);
  console.log(event.type, event.data);
  res.sendStatus(204);
});`,
  Python: `import hashlib, hmac, os
from flask import Flask, abort, request

app = Flask(__name__)
SECRET = os.environ["WEBHOOK_SECRET"].encode()

@app.post("/webhooks")
def webhooks():
    body = request.get_data()
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        abort(400)
    event = request.get_json()
    print(event["type"], event["data"])
    return "", 204`,
  Go: `package main

import (
	"io"
	"net/http"
	"os"

	"github.com/google/go-github/v60/github"
)

func main() {
	http.HandleFunc("/webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := github.ValidateSignature(r.Header.Get("X-Hub-Signature-256"), body, []byte(os.Getenv("WEBHOOK_SECRET"))); err != nil {
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		// handle body (JSON)
		w.WriteHeader(http.StatusNoContent)
	})
	http.ListenAndServe(":8000", nil)
}`,
  PHP: `<?php
$payload = file_get_contents('php://input');
$expected = 'sha256=' . hash_hmac('sha256', $payload, getenv('WEBHOOK_SECRET'));
if (!hash_equals($expected, $_SERVER['HTTP_X_HUB_SIGNATURE_256'] ?? '')) {
    http_response_code(400);
    exit('invalid signature');
}
$event = json_decode($payload, true);
// handle $event['type'], $event['data']
http_response_code(204);`,
};

function hmac(sig: Signature, lang: Language): string {
  const header = sig.header ?? 'X-Webhook-Signature';
  const prefix = sig.prefix ?? '';
  const base64 = sig.encoding === 'base64';
  const phpServer = `HTTP_${header.toUpperCase().replace(/-/g, '_')}`;
  const snippets: Record<Language, string> = {
    'Node.js': `import crypto from 'node:crypto';
import express from 'express';

const app = express();

app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => {
  const expected = '${prefix}' + crypto.createHmac('sha256', process.env.WEBHOOK_SECRET).update(req.body).digest('${base64 ? 'base64' : 'hex'}');
  const given = req.headers['${header.toLowerCase()}'] ?? '';
  const ok = given.length === expected.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected));
  if (!ok) return res.status(400).send('invalid signature');
  const event = JSON.parse(req.body.toString('utf8'));
  console.log(event.type, event.data);
  res.sendStatus(204);
});`,
    Python: `import ${base64 ? 'base64, ' : ''}hashlib, hmac, os
from flask import Flask, abort, request

app = Flask(__name__)
SECRET = os.environ["WEBHOOK_SECRET"].encode()

@app.post("/webhooks")
def webhooks():
    body = request.get_data()
    digest = hmac.new(SECRET, body, hashlib.sha256)
    expected = "${prefix}" + ${base64 ? 'base64.b64encode(digest.digest()).decode()' : 'digest.hexdigest()'}
    if not hmac.compare_digest(expected, request.headers.get("${header}", "")):
        abort(400)
    event = request.get_json()
    print(event["type"], event["data"])
    return "", 204`,
    Go: `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"${base64 ? 'encoding/base64' : 'encoding/hex'}"
	"io"
	"net/http"
	"os"
)

func main() {
	secret := []byte(os.Getenv("WEBHOOK_SECRET"))
	http.HandleFunc("/webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		expected := "${prefix}" + ${base64 ? 'base64.StdEncoding.EncodeToString(mac.Sum(nil))' : 'hex.EncodeToString(mac.Sum(nil))'}
		if !hmac.Equal([]byte(expected), []byte(r.Header.Get("${header}"))) {
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		// handle body (JSON)
		w.WriteHeader(http.StatusNoContent)
	})
	http.ListenAndServe(":8000", nil)
}`,
    PHP: `<?php
$payload = file_get_contents('php://input');
$expected = '${prefix}' . ${base64 ? "base64_encode(hash_hmac('sha256', $payload, getenv('WEBHOOK_SECRET'), true))" : "hash_hmac('sha256', $payload, getenv('WEBHOOK_SECRET'))"};
if (!hash_equals($expected, $_SERVER['${phpServer}'] ?? '')) {
    http_response_code(400);
    exit('invalid signature');
}
$event = json_decode($payload, true);
// handle $event['type'], $event['data']
http_response_code(204);`,
  };
  return snippets[lang];
}

function ed25519(publicKey: string): Record<Language, string> {
  return {
    'Node.js': `import crypto from 'node:crypto';
import express from 'express';

// The endpoint's public key (not a secret): ${publicKey}
const raw = Buffer.from(process.env.WEBHOOK_PUBLIC_KEY.replace(/^whpk_/, ''), 'base64');
const key = crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
const app = express();

app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => {
  const signed = \`\${req.headers['webhook-id']}.\${req.headers['webhook-timestamp']}.\${req.body.toString('utf8')}\`;
  const ok = (req.headers['webhook-signature'] ?? '').split(' ').some((part) =>
    part.startsWith('v1a,') && crypto.verify(null, Buffer.from(signed), key, Buffer.from(part.slice(4), 'base64')));
  if (!ok) return res.status(400).send('invalid signature');
  res.sendStatus(204);
});`,
    Python: `import base64, os
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, abort, request

# The endpoint's public key (not a secret): ${publicKey}
KEY = Ed25519PublicKey.from_public_bytes(base64.b64decode(os.environ["WEBHOOK_PUBLIC_KEY"].removeprefix("whpk_")))
app = Flask(__name__)

@app.post("/webhooks")
def webhooks():
    h = request.headers
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request.get_data()
    for part in h.get("webhook-signature", "").split(" "):
        if part.startswith("v1a,"):
            try:
                KEY.verify(base64.b64decode(part[4:]), signed)
                return "", 204
            except Exception:
                pass
    abort(400)`,
    Go: `package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"strings"
)

// The endpoint's public key (not a secret): ${publicKey}
func main() {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(os.Getenv("WEBHOOK_PUBLIC_KEY"), "whpk_"))
	http.HandleFunc("/webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		signed := []byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "." + string(body))
		for _, part := range strings.Split(r.Header.Get("webhook-signature"), " ") {
			sig, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(part, "v1a,"))
			if strings.HasPrefix(part, "v1a,") && err == nil && ed25519.Verify(ed25519.PublicKey(key), signed, sig) {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.Error(w, "invalid signature", http.StatusBadRequest)
	})
	http.ListenAndServe(":8000", nil)
}`,
    PHP: `<?php
// The endpoint's public key (not a secret): ${publicKey}
$key = base64_decode(substr(getenv('WEBHOOK_PUBLIC_KEY'), strlen('whpk_')));
$payload = file_get_contents('php://input');
$signed = $_SERVER['HTTP_WEBHOOK_ID'] . '.' . $_SERVER['HTTP_WEBHOOK_TIMESTAMP'] . '.' . $payload;
foreach (explode(' ', $_SERVER['HTTP_WEBHOOK_SIGNATURE'] ?? '') as $part) {
    if (str_starts_with($part, 'v1a,') && sodium_crypto_sign_verify_detached(base64_decode(substr($part, 4)), $signed, $key)) {
        http_response_code(204);
        exit;
    }
}
http_response_code(400);`,
  };
}
