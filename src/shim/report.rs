//! What the shim reports: a warning on stderr for each forced attempt, and the audit records of
//! attempts, refusals and errors.

use std::ffi::OsString;

use crate::audit::{self, Action, Event};
use crate::pin::argv;
use crate::pin::attempt::Attempt;
use crate::pin::grammar::ROOT;
use crate::pin::policy::{Policy, MODEL_VAR};
use crate::shim::error::{ShimError, PREFIX};
use crate::shim::AUDIT_SOURCE;

/// Argv attempts that were forced: a warning on stderr each, and the audit records.
pub fn forced(policy: &Policy, forced: &[Attempt], args: &[OsString]) {
    if !forced.is_empty() {
        for attempt in forced {
            eprintln!("{}", forced_warning(&policy.model, attempt));
        }
        audit::report(&attempt_events(Action::Forced, policy, forced, args));
    }
}

/// The app-server relay's reports: the attempts of one client message, forced or refused.
pub fn stream_attempts(action: Action, policy: &Policy, attempts: &[Attempt]) {
    let args = [OsString::from("app-server")];
    if action == Action::Forced {
        forced(policy, attempts, &args);
    } else {
        audit::report(&attempt_events(action, policy, attempts, &args));
    }
}

fn base_event(action: Action, message: String, policy: Option<&Policy>, args: &[OsString]) -> Event {
    let mut event = Event::new(AUDIT_SOURCE, action, message);
    event.pinned_model = policy.map(|p| p.model.clone());
    event.lock_mode = policy.map(|p| p.mode.as_str());
    event.subcommand = Some(argv::parse(args, &ROOT).path_string());
    event
}

fn attempt_events(action: Action, policy: &Policy, attempts: &[Attempt], args: &[OsString]) -> Vec<Event> {
    attempts
        .iter()
        .map(|attempt| {
            let message = match action {
                Action::Forced => forced_warning(&policy.model, attempt),
                _ => format!("{PREFIX}: rejected {attempt}"),
            };
            let mut event = base_event(action, message, Some(policy), args);
            event.attempted = Some(attempt.attempted.clone());
            event.syntax = Some(attempt.syntax.clone());
            event
        })
        .collect()
}

/// The audit records of a failed call: one per rejected attempt, else one for the error.
pub fn error_events(error: &ShimError, policy: Option<&Policy>, args: &[OsString]) -> Vec<Event> {
    if let ShimError::Rejected { attempts, .. } = error {
        return attempt_events(Action::Rejected, policy.expect("rejected under a policy"), attempts, args);
    }
    let mut event = base_event(error.audit_action(), error.to_string(), policy, args);
    if !matches!(error, ShimError::RefusedUsage { .. }) {
        event.attempted = error.refused_form().map(str::to_owned);
    }
    vec![event]
}

pub fn forced_warning(model: &str, attempt: &Attempt) -> String {
    format!("{PREFIX}: warning: forced {MODEL_VAR}={model:?} over {attempt}")
}
