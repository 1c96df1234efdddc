//! The research export: a k-anonymous CSV under a pseudonym of the export.

use super::*;

/// The research export: a de-identified CSV and what was done to make it so.
#[derive(Debug, Clone)]
pub struct ResearchExport {
    pub csv: String,
    pub k_requested: usize,
    pub k_achieved: Option<usize>,
    pub rows: usize,
    pub suppressed: usize,
    pub generalised: usize,
}
impl Services {
    /// The research export's default k, for its form. Administrators (refusals recorded).
    pub async fn research_export_defaults(&self, actor: &Actor) -> Result<usize, ServiceError> {
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        Ok(self.settings().patients.research_export_k)
    }

    /// The de-identified research export (see `carevault_core::deidentify`). Administrators.
    pub async fn research_export(
        &self,
        actor: &Actor,
        k: Option<usize>,
    ) -> Result<ResearchExport, ServiceError> {
        use carevault_core::deidentify::{
            QuasiIdentifiers, age_band_5y, k_anonymize, postcode_area,
        };
        self.authorize(actor, Action::AdministerSystem, ResourceType::Patient)
            .await?;
        let k = k.unwrap_or(self.settings().patients.research_export_k);
        if !(1..=100).contains(&k) {
            return Err(ValidationErrors::single("k", "must be between 1 and 100").into());
        }
        let today = self.today();
        let mut rows = Vec::new();
        let mut after: Option<PatientId> = None;
        loop {
            let batch = patients::batch_after(self.store().conn(), after, 500).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.id);
            for row in batch.iter().filter(|row| !row.is_erased()) {
                let data = self.open_row(actor, row, AuditAction::Export).await?;
                let qi = QuasiIdentifiers {
                    age_band: age_band_5y(data.date_of_birth, today),
                    sex: data.sex.as_str().to_owned(),
                    postcode_area: data
                        .address
                        .as_deref()
                        .and_then(postcode_area)
                        .unwrap_or_else(|| "*".into()),
                };
                // A pseudonym of this export only: random, never stored, so the file cannot be
                // joined with the application's own `ANON_` pseudonyms (which staff can look
                // up) or with another export.
                let payload = (
                    format!("R{}", hex::encode(carevault_crypto::random_bytes::<8>())),
                    data.blood_group.unwrap_or_default(),
                    data.primary_diagnosis.unwrap_or_default(),
                    row.status.as_str().to_owned(),
                );
                rows.push((qi, payload));
            }
        }
        let result = k_anonymize(rows, k);
        let achieved = result
            .k_achieved
            .map_or_else(|| "none".to_owned(), |k| k.to_string());
        let mut csv = format!(
            "# Carevault research export (de-identified)\n# k requested: {k}; k achieved: {achieved}; rows: {}; suppressed rows: {}; generalised rows: {}\n# pseudonyms are random for this export and appear nowhere else\n",
            result.rows.len(),
            result.suppressed_rows,
            result.generalised_rows
        );
        csv.push_str("pseudonym,age_band,sex,postcode_area,blood_group,primary_diagnosis,status\n");
        for (qi, (pseudonym, blood_group, diagnosis, status)) in &result.rows {
            let fields = [
                pseudonym,
                &qi.age_band,
                &qi.sex,
                &qi.postcode_area,
                blood_group,
                diagnosis,
                status,
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            csv.push_str(&line.join(","));
            csv.push('\n');
        }
        let mut event = self.audit_event(actor, AuditAction::Export, ResourceType::Patient);
        event.reason = Some(format!(
            "research export: k={k}, achieved k={achieved}, rows={}, suppressed={}, generalised={}",
            result.rows.len(),
            result.suppressed_rows,
            result.generalised_rows
        ));
        self.record(event).await?;
        Ok(ResearchExport {
            csv,
            k_requested: k,
            k_achieved: result.k_achieved,
            rows: result.rows.len(),
            suppressed: result.suppressed_rows,
            generalised: result.generalised_rows,
        })
    }
}

/// One CSV field (RFC 4180), with spreadsheet formulas neutralised.
pub(super) fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['\t', '\r'])
        || value.trim_start().starts_with(['=', '+', '-', '@'])
    {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
