//! Break-the-glass vocabulary: how an administrator judged an emergency access grant.

/// How a grant was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    Pending,
    Justified,
    Unjustified,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Justified => "justified",
            ReviewStatus::Unjustified => "unjustified",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(ReviewStatus::Pending),
            "justified" => Ok(ReviewStatus::Justified),
            "unjustified" => Ok(ReviewStatus::Unjustified),
            _ => Err("must be one of: pending, justified, unjustified".into()),
        }
    }
}
