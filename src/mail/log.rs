//! The `log` transport: no mail server, the code goes to the log.
//!
//! It is the default so that a fresh install works with nothing configured; the warning says so
//! every time, because a production server left like this shows sign-in codes to whoever reads
//! its log.

use lettre::message::Mailbox;

use super::Purpose;

pub(crate) fn print_code(to: &Mailbox, purpose: Purpose, code: &str) {
    tracing::warn!(
        "mail is not configured (mail.transport = \"log\"): {purpose} code for {} is {code}; \
         set mail.transport to \"smtp\" or \"ses\" to send it by email",
        to.email
    );
}
