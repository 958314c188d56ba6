//! A dialog of the full-screen console being asked (`/passwd`,
//! `/delete-account`): its questions and the answers so far. `dialog.rs`
//! says how the keys move it on; the screen's state (`app.rs`) holds it.

use crate::console::account::{Dialog, Question};
use crate::i18n::Lang;

/// A dialog being asked.
pub struct Prompt {
    pub dialog: Dialog,
    pub questions: Vec<Question>,
    /// The answers so far (one per question asked).
    answers: Vec<String>,
}

impl Prompt {
    /// Asks `dialog`'s questions, in `lang`.
    pub fn new(dialog: Dialog, lang: Lang) -> Prompt {
        let questions = dialog.questions(lang);
        Prompt { dialog, questions, answers: Vec::new() }
    }

    /// The question being asked.
    pub fn question(&self) -> &Question {
        &self.questions[self.answers.len()]
    }

    /// The answer to the question being asked; true once every question
    /// is answered.
    pub fn answer(&mut self, answer: String) -> bool {
        self.answers.push(answer);
        self.answers.len() == self.questions.len()
    }

    /// The dialog and its answers, once all are given.
    pub fn into_answers(self) -> (Dialog, Vec<String>) {
        (self.dialog, self.answers)
    }
}
