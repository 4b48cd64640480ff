//! `plan-comment`: summarise a terraform plan in one sticky pull-request comment per workspace.
