//! The redaction rules file (`--redaction FILE`): parsing, validation and compilation into per-tenant
//! [`RuleSet`]s.
//!
//! ```toml
//! # Key for `hash` rules (HMAC-SHA256); or `hash_key = "..."` in the file itself.
//! hash_key_env = "TRACEWELL_REDACTION_KEY"
//!
//! [all]                                   # every tenant
//! drop = ["http.request.header.authorization", "*password*"]
//! hash = ["enduser.id", "user.id"]
//! [[all.mask]]
//! pattern = "email"                       # built-in: email, card, token; anything else is a regex
//! [[all.mask]]
//! pattern = "card"
//! keys = ["payment.*", "db.query.text"]   # key globs; default "*" (every string value)
//!
//! [tenants.shop]                          # added to the [all] rules for tenant "shop"
//! drop = ["customer.address"]
//! [[tenants.shop.mask]]
//! pattern = 'order-\d+'
//! replacement = "order-[id]"              # regex replacement ($1 refers to a group); default "[redacted]"
//! ```
//!
//! Keys are globs where `*` stands for any run of characters. Unknown keys, bad globs or regexes, and `hash`
//! rules without a key are errors naming the table and rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;

/// Why a redaction rules file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RedactionError {
    #[error("cannot read redaction rules {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("redaction rules {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    hash_key: Option<String>,
    hash_key_env: Option<String>,
    #[serde(default)]
    all: RawRules,
    #[serde(default)]
    tenants: BTreeMap<String, RawRules>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    drop: Vec<String>,
    #[serde(default)]
    hash: Vec<String>,
    #[serde(default)]
    mask: Vec<RawMask>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawMask {
    pattern: String,
    #[serde(default)]
    keys: Vec<String>,
    replacement: Option<String>,
}

/// Attribute keys matched by globs (`*` = any characters); matches nothing when built from no globs.
#[derive(Debug, Clone)]
pub(crate) struct KeyMatcher(Option<Regex>);

impl KeyMatcher {
    fn new(globs: &[String]) -> Result<Self, String> {
        if globs.is_empty() {
            return Ok(Self(None));
        }
        let mut alternatives = Vec::with_capacity(globs.len());
        for glob in globs {
            if glob.is_empty() {
                return Err("an empty key glob".into());
            }
            let parts: Vec<String> = glob.split('*').map(regex::escape).collect();
            alternatives.push(parts.join(".*"));
        }
        let regex =
            Regex::new(&format!("^(?:{})$", alternatives.join("|"))).map_err(|e| e.to_string())?;
        Ok(Self(Some(regex)))
    }

    pub(crate) fn matches(&self, key: &str) -> bool {
        self.0.as_ref().is_some_and(|r| r.is_match(key))
    }

    fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

/// One regex of a mask and what replaces its matches.
#[derive(Debug, Clone)]
pub(crate) struct Replace {
    pub regex: Regex,
    pub replacement: String,
    /// Only matches whose digits pass the Luhn check are replaced (payment card numbers).
    pub luhn: bool,
}

/// A mask rule: string values under matching keys have every match of the pattern replaced.
#[derive(Debug, Clone)]
pub(crate) struct Mask {
    pub keys: KeyMatcher,
    pub replaces: Vec<Replace>,
}

/// The compiled rules one tenant's spans go through.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub(crate) drop: KeyMatcher,
    pub(crate) hash: KeyMatcher,
    pub(crate) masks: Vec<Mask>,
    pub(crate) hash_key: Arc<[u8]>,
}

impl RuleSet {
    /// Whether the rules change nothing.
    pub fn is_empty(&self) -> bool {
        self.drop.is_empty() && self.hash.is_empty() && self.masks.is_empty()
    }
}

/// The patterns `pattern = "<name>"` names, each with its default replacement.
fn builtin(name: &str) -> Option<Vec<(&'static str, &'static str, bool)>> {
    Some(match name {
        "email" => vec![(
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            "[email]",
            false,
        )],
        "card" => vec![(r"\b\d(?:[ -]?\d){12,18}\b", "[card]", true)],
        "token" => vec![
            (
                r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/-]{8,}=*",
                "${1}[token]",
                false,
            ),
            (
                r"(?i)([?&;](?:access_token|id_token|refresh_token|token|api_key|apikey|key|password|passwd|pwd|secret|client_secret|signature|sig|auth)=)[^&#\s]+",
                "${1}[token]",
                false,
            ),
        ],
        _ => return None,
    })
}

fn compile_mask(raw: &RawMask) -> Result<Mask, String> {
    let keys = if raw.keys.is_empty() {
        KeyMatcher::new(&["*".to_owned()])?
    } else {
        KeyMatcher::new(&raw.keys)?
    };
    let replaces = match builtin(&raw.pattern) {
        Some(patterns) => patterns
            .into_iter()
            .map(|(regex, replacement, luhn)| Replace {
                regex: Regex::new(regex).expect("built-in patterns compile"),
                replacement: raw
                    .replacement
                    .clone()
                    .unwrap_or_else(|| replacement.into()),
                luhn,
            })
            .collect(),
        None => vec![Replace {
            regex: Regex::new(&raw.pattern)
                .map_err(|e| format!("pattern {:?} is not a regex: {e}", raw.pattern))?,
            replacement: raw
                .replacement
                .clone()
                .unwrap_or_else(|| "[redacted]".into()),
            luhn: false,
        }],
    };
    Ok(Mask { keys, replaces })
}

fn compile(raw: &RawRules, hash_key: &Arc<[u8]>) -> Result<RuleSet, String> {
    let masks = raw
        .mask
        .iter()
        .enumerate()
        .map(|(i, m)| compile_mask(m).map_err(|e| format!("mask {}: {e}", i + 1)))
        .collect::<Result<_, _>>()?;
    Ok(RuleSet {
        drop: KeyMatcher::new(&raw.drop).map_err(|e| format!("drop: {e}"))?,
        hash: KeyMatcher::new(&raw.hash).map_err(|e| format!("hash: {e}"))?,
        masks,
        hash_key: Arc::clone(hash_key),
    })
}

/// Every tenant's compiled rules. The default holds none.
#[derive(Debug, Clone, Default)]
pub struct RedactionRules {
    all: Option<Arc<RuleSet>>,
    tenants: BTreeMap<String, Arc<RuleSet>>,
}

impl RedactionRules {
    /// Parses and compiles a rules file's text; `lookup_env` resolves `hash_key_env`.
    pub fn parse(
        text: &str,
        path: &Path,
        lookup_env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, RedactionError> {
        let invalid = |message: String| RedactionError::Invalid {
            path: path.to_owned(),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let key = match (&raw.hash_key, &raw.hash_key_env) {
            (Some(_), Some(_)) => {
                return Err(invalid("set hash_key or hash_key_env, not both".into()))
            }
            (Some(key), None) => Some(key.clone()),
            (None, Some(var)) => Some(lookup_env(var).ok_or_else(|| {
                invalid(format!(
                    "hash_key_env names {var:?}, which is not set in the environment"
                ))
            })?),
            (None, None) => None,
        };
        let hashes = !raw.all.hash.is_empty() || raw.tenants.values().any(|t| !t.hash.is_empty());
        if hashes && key.as_deref().is_none_or(str::is_empty) {
            return Err(invalid(
                "hash rules need a secret key (hash_key or hash_key_env): values hashed without one can be \
                 recovered by hashing guesses"
                    .into(),
            ));
        }
        let hash_key: Arc<[u8]> = key.unwrap_or_default().into_bytes().into();
        let all = compile(&raw.all, &hash_key).map_err(|e| invalid(format!("[all] {e}")))?;
        let mut tenants = BTreeMap::new();
        for (tenant, rules) in &raw.tenants {
            let mut merged = raw.all.clone();
            merged.drop.extend(rules.drop.iter().cloned());
            merged.hash.extend(rules.hash.iter().cloned());
            merged.mask.extend(rules.mask.iter().cloned());
            let set = compile(&merged, &hash_key)
                .map_err(|e| invalid(format!("[tenants.{tenant}] {e}")))?;
            tenants.insert(tenant.clone(), Arc::new(set));
        }
        Ok(Self {
            all: (!all.is_empty()).then(|| Arc::new(all)),
            tenants,
        })
    }

    /// Reads, parses and compiles a rules file, resolving `hash_key_env` from the process environment.
    pub fn load(path: &Path) -> Result<Self, RedactionError> {
        let text = std::fs::read_to_string(path).map_err(|source| RedactionError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path, |var| std::env::var(var).ok())
    }

    /// The rules `tenant`'s spans go through, if any.
    pub fn for_tenant(&self, tenant: &str) -> Option<&Arc<RuleSet>> {
        self.tenants
            .get(tenant)
            .filter(|set| !set.is_empty())
            .or(self.all.as_ref())
    }

    /// Whether no tenant has any rule.
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.tenants.values().all(|s| s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RedactionRules, String> {
        RedactionRules::parse(text, Path::new("r.toml"), |v| {
            (v == "KEY").then(|| "s3cret".to_owned())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn globs_match_whole_keys() {
        let m = KeyMatcher::new(&[
            "*password*".into(),
            "http.request.header.authorization".into(),
        ])
        .unwrap();
        assert!(m.matches("db.password"));
        assert!(m.matches("password"));
        assert!(m.matches("http.request.header.authorization"));
        assert!(!m.matches("http.request.header.authorization.x"));
        assert!(!m.matches("user.name"));
        // Regex characters in globs are literal.
        let dots = KeyMatcher::new(&["a.b".into()]).unwrap();
        assert!(!dots.matches("axb"));
    }

    #[test]
    fn tenant_rules_add_to_the_rules_of_all_tenants() {
        let rules =
            parse("[all]\ndrop = ['secret']\n[tenants.shop]\ndrop = ['customer.address']\n")
                .unwrap();
        let shop = rules.for_tenant("shop").unwrap();
        assert!(shop.drop.matches("secret") && shop.drop.matches("customer.address"));
        let other = rules.for_tenant("other").unwrap();
        assert!(other.drop.matches("secret") && !other.drop.matches("customer.address"));
        assert!(parse("").unwrap().for_tenant("shop").is_none());
    }

    #[test]
    fn errors_name_what_was_wrong() {
        let err = parse("[all]\nhash = ['user.id']\n").unwrap_err();
        assert!(err.contains("hash rules need a secret key"), "{err}");
        let err = parse("hash_key_env = 'MISSING'\n").unwrap_err();
        assert!(err.contains("\"MISSING\", which is not set"), "{err}");
        let err = parse("[tenants.shop]\nmask = [{ pattern = '(' }]\n").unwrap_err();
        assert!(
            err.contains("[tenants.shop] mask 1: pattern \"(\" is not a regex"),
            "{err}"
        );
        let err = parse("[all]\ndorp = ['x']\n").unwrap_err();
        assert!(err.contains("unknown field `dorp`"), "{err}");
        let err = parse("[all]\ndrop = ['']\n").unwrap_err();
        assert!(err.contains("[all] drop: an empty key glob"), "{err}");
        assert!(parse("hash_key_env = 'KEY'\n[all]\nhash = ['user.id']\n").is_ok());
    }
}
