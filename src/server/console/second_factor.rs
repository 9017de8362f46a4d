//! The "Second factor" control on an app's page and a group's page: the two choices in the
//! console's words, the value the edit form sent, and whether the change loosens the policy.
//!
//! Loosening (required → optional) weakens every later sign-in of the app or of the group's
//! members, so it needs a recent sign-in ([`super::fresh::require`]), as rotating a secret
//! does; tightening it does not (it can only ask more of people). The action is not replayed
//! after the re-authentication: the administrator saves the form again.

use crate::store::SecondFactor;
use serde_json::{json, Value};

/// The choices, as the form offers them: the value sent, and what it is called.
const CHOICES: [(SecondFactor, &str); 2] = [
    (SecondFactor::Optional, "Email code is enough"),
    (
        SecondFactor::Required,
        "Require a second factor (passkey or authenticator app)",
    ),
];

/// The choices for the template, each with whether it is `current` (a stored or typed value:
/// `"optional"` or `"required"`), and the current one's label (for the read-only view).
pub(super) fn choices(current: &Value) -> Value {
    let current = current.as_str().unwrap_or(SecondFactor::Optional.as_str());
    let list: Vec<Value> = CHOICES
        .iter()
        .map(|(policy, label)| {
            json!({ "value": policy.as_str(), "label": label, "checked": policy.as_str() == current })
        })
        .collect();
    let label = CHOICES
        .iter()
        .find(|(policy, _)| policy.as_str() == current)
        .map_or(CHOICES[0].1, |(_, label)| label);
    json!({ "choices": list, "label": label })
}

/// The form's `second_factor`: `None` when it was not sent (the stored policy stays), an
/// error naming the choices when it is neither.
pub(super) fn typed(field: Option<&str>) -> Result<Option<SecondFactor>, String> {
    match field {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            "Choose one of the second-factor settings: the email code alone, or a second factor."
                .to_string()
        }),
    }
}

/// Whether going from the stored policy (`app.show`'s or `group.show`'s `second_factor`) to
/// `to` loosens it.
pub(super) fn loosens(stored: &Value, to: Option<SecondFactor>) -> bool {
    stored.as_str() == Some(SecondFactor::Required.as_str()) && to == Some(SecondFactor::Optional)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_required_to_optional_loosens() {
        let (req, opt) = (json!("required"), json!("optional"));
        assert!(loosens(&req, Some(SecondFactor::Optional)));
        assert!(!loosens(&req, Some(SecondFactor::Required)));
        assert!(!loosens(&req, None));
        assert!(!loosens(&opt, Some(SecondFactor::Optional)));
        assert!(!loosens(&opt, Some(SecondFactor::Required)));
    }

    #[test]
    fn the_typed_value_is_one_of_the_choices_or_absent() {
        assert_eq!(typed(None), Ok(None));
        assert_eq!(typed(Some("required")), Ok(Some(SecondFactor::Required)));
        assert!(typed(Some("sometimes"))
            .unwrap_err()
            .contains("second-factor"));
        let shown = choices(&json!("required"));
        assert_eq!(shown["label"], CHOICES[1].1);
        assert_eq!(shown["choices"][1]["checked"], true);
        assert_eq!(choices(&Value::Null)["choices"][0]["checked"], true);
    }
}
