//! Properties of the pure rewrite (`rewrite::apply`) on argvs generated from the grammar table:
//! no panic; an argv the table says clap rejects is refused in both modes; otherwise the result
//! parses without a usage error, is a fixed point, holds no attempt, and every token the shim did
//! not replace keeps its level and role. `PROPTEST_CASES` sets the number of argvs (`make fuzz`).

mod support;

use std::ffi::{OsStr, OsString};

use openclaw_codex::pin::argv::{self, Role};
use openclaw_codex::pin::grammar::ROOT;
use openclaw_codex::pin::policy::{LockMode, Policy};
use openclaw_codex::pin::rewrite::{self, Origin, Outcome};
use proptest::prelude::*;

fn policy(mode: LockMode) -> Policy {
    Policy { model: support::argv_gen::PIN.to_owned(), mode, allow_unpinnable: vec![] }
}

/// Run and Relay both run codex on these arguments.
fn runs(outcome: &Outcome) -> Option<&Vec<OsString>> {
    match outcome {
        Outcome::Run { args, .. } | Outcome::Relay { args, .. } => Some(args),
        _ => None,
    }
}

fn kind(role: Role) -> u8 {
    match role {
        Role::Option(_) => 0,
        Role::Value(_) => 1,
        _ => 2,
    }
}

/// Every property for one argv; `Err` says which broke.
fn check(args: &[OsString]) -> Result<(), String> {
    let codex = OsStr::new("codex");
    let before = argv::parse(args, &ROOT);
    let (forced, origins) = rewrite::apply_traced(&policy(LockMode::Force), codex, args);
    let rejected = rewrite::apply(&policy(LockMode::Reject), codex, args);
    if before.usage.is_some() {
        for outcome in [&forced, &rejected] {
            if !matches!(outcome, Outcome::RefuseUsage { .. }) {
                return Err(format!("clap rejects it ({:?}), the shim made {outcome:?}", before.usage));
            }
        }
        return Ok(());
    }
    let Some(out) = runs(&forced) else {
        return Ok(()); // a refusal of its own (unpinnable, internal): nothing runs
    };
    let after = argv::parse(out, &ROOT);
    if let Some(usage) = &after.usage {
        return Err(format!("the rewrite {out:?} is a usage error: {usage}"));
    }
    // A fixed point, and no attempt left in it: force changes nothing, reject runs it as it is.
    for mode in [LockMode::Force, LockMode::Reject] {
        let again = rewrite::apply(&policy(mode), codex, out);
        if runs(&again) != Some(out)
            || matches!(&again, Outcome::Run { forced, .. } | Outcome::Relay { forced, .. } if !forced.is_empty())
        {
            return Err(format!("{mode:?} on the rewrite {out:?} made {again:?}"));
        }
    }
    if origins.len() != out.len() {
        return Err(format!("{} origins for {} tokens", origins.len(), out.len()));
    }
    for (j, origin) in origins.iter().enumerate() {
        let (now, was) = match *origin {
            Origin::Kept(i) if args[i] != out[j] => return Err(format!("token {i} kept but changed: {out:?}")),
            Origin::Kept(i) => (after.roles[j], before.roles[i]),
            // A replaced token stands in the same slot: same level, an option for an option, a
            // value for a value.
            Origin::Replaced(i) => {
                let (now, was) = (after.roles[j], before.roles[i]);
                if now.0 != was.0 || kind(now.1) != kind(was.1) {
                    return Err(format!("token {i} ({was:?}) replaced by {:?} as {now:?} in {out:?}", out[j]));
                }
                continue;
            }
            Origin::Injected => continue,
        };
        if now != was {
            return Err(format!("token {:?} was {was:?}, is {now:?} in {out:?}", out[j]));
        }
    }
    // Reject runs exactly what force runs when there is nothing to force, and refuses otherwise.
    match (&forced, &rejected) {
        (Outcome::Run { forced, .. } | Outcome::Relay { forced, .. }, Outcome::Reject { attempts }) => {
            if forced != attempts {
                return Err(format!("force forced {forced:?}, reject refused {attempts:?}"));
            }
        }
        (Outcome::Run { forced, .. } | Outcome::Relay { forced, .. }, _) if forced.is_empty() => {
            if runs(&rejected) != Some(out) {
                return Err(format!("reject made {rejected:?}, force {out:?}"));
            }
        }
        _ => return Err(format!("force made {forced:?}, reject {rejected:?}")),
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(3000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_rewrite_keeps_every_role(numbers in prop::collection::vec(any::<u32>(), 0..48)) {
        let args = support::argv_gen::build(&numbers, false);
        if let Err(why) = check(&args) {
            return Err(TestCaseError::fail(format!("{args:?}: {why}")));
        }
    }

    #[test]
    fn the_differential_argvs_keep_every_role(numbers in prop::collection::vec(any::<u32>(), 0..32)) {
        let args = support::argv_gen::build(&numbers, true);
        if let Err(why) = check(&args) {
            return Err(TestCaseError::fail(format!("{args:?}: {why}")));
        }
    }
}

/// Controls: the checks see a rewrite that breaks the invariant, and the generator reaches every
/// kind of usage error and of attempt.
#[test]
fn the_checks_can_fail_and_the_generator_reaches_every_case() {
    let words = |s: &str| s.split(' ').map(OsString::from).collect::<Vec<_>>();
    // What removing `--oss` made of issue 15's argv: another token's role changed.
    let before = argv::parse(&words("--add-dir --oss sandbox exec -m x hi"), &ROOT);
    let after = argv::parse(&words("--add-dir sandbox exec -m x hi"), &ROOT);
    assert!(before.usage.is_some() && after.usage.is_none());
    assert_ne!(before.roles[2], after.roles[1], "sandbox: a subcommand, then a value");
    assert!(check(&words("--add-dir --oss sandbox exec -m x hi")).is_ok());

    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..20_000u32 {
        let numbers: Vec<u32> = (0..40).map(|i| seed.wrapping_mul(2_654_435_761).rotate_left(i) ^ i).collect();
        let args = support::argv_gen::build(&numbers, seed % 2 == 0);
        let parsed = argv::parse(&args, &ROOT);
        let label = match (&parsed.usage, rewrite::apply(&policy(LockMode::Force), OsStr::new("codex"), &args)) {
            (Some(usage), _) => format!("{usage:?}").split('(').next().unwrap().to_owned(),
            (None, Outcome::Run { forced, .. }) if !forced.is_empty() => "forced".to_owned(),
            (None, Outcome::Run { .. }) => "benign".to_owned(),
            (None, _) => "refused".to_owned(),
        };
        seen.insert(label);
    }
    for label in
        ["Unknown", "MissingValue", "UnexpectedValue", "Repeated", "Conflict", "NotUtf8", "forced", "benign", "refused"]
    {
        assert!(seen.contains(label), "the generator never made a {label} argv: {seen:?}");
    }
}
