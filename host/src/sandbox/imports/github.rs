//! `tollgate:plugin/github`: answered `unavailable` until the host's GitHub client lands.

use super::StepIo;
use crate::bindings::tollgate::plugin::github;

const NO_GITHUB: &str = "this Tollgate version has no GitHub client yet";

fn no_github<T>() -> Result<T, github::GithubError> {
    Err(github::GithubError::Unavailable(NO_GITHUB.into()))
}

impl github::Host for StepIo {
    fn get_pull_request(&mut self, _: u64) -> Result<github::PullRequest, github::GithubError> {
        no_github()
    }
    fn list_comments(&mut self, _: u64) -> Result<Vec<github::Comment>, github::GithubError> {
        no_github()
    }
    fn create_comment(&mut self, _: u64, _: String) -> Result<github::Comment, github::GithubError> {
        no_github()
    }
    fn update_comment(&mut self, _: u64, _: String) -> Result<github::Comment, github::GithubError> {
        no_github()
    }
    fn delete_comment(&mut self, _: u64) -> Result<(), github::GithubError> {
        no_github()
    }
    fn find_issues(&mut self, _: Vec<String>, _: String) -> Result<Vec<github::Issue>, github::GithubError> {
        no_github()
    }
    fn create_issue(&mut self, _: String, _: String, _: Vec<String>) -> Result<github::Issue, github::GithubError> {
        no_github()
    }
    fn update_issue(
        &mut self,
        _: u64,
        _: Option<String>,
        _: Option<String>,
        _: Option<String>,
    ) -> Result<github::Issue, github::GithubError> {
        no_github()
    }
    fn create_ref(&mut self, _: String, _: String) -> Result<github::GitRef, github::GithubError> {
        no_github()
    }
    fn get_ref(&mut self, _: String) -> Result<github::GitRef, github::GithubError> {
        no_github()
    }
    fn delete_ref(&mut self, _: String) -> Result<(), github::GithubError> {
        no_github()
    }
    fn update_ref(&mut self, _: String, _: String, _: bool) -> Result<github::GitRef, github::GithubError> {
        no_github()
    }
    fn create_commit(
        &mut self,
        _: String,
        _: Option<String>,
        _: Vec<String>,
    ) -> Result<github::Commit, github::GithubError> {
        no_github()
    }
    fn get_commit(&mut self, _: String) -> Result<github::Commit, github::GithubError> {
        no_github()
    }
}
