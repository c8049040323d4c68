//! The `ocpp` command-line tool: validates logs of OCPP-J frames against the Open Charge
//! Alliance's schemas, using the validators and error codes of `ocpp-messages`.
//!
//! ```text
//! ocpp validate --ocpp 2.0.1 [--json [--reencode]] [FILE ...]
//! ```
//!
//! The input is one OCPP-J frame per line (stdin when no FILE is given, or for `-`). Each file
//! is its own stream: line numbers start at 1 and CALLRESULTs are matched to the CALLs of the
//! same file. Blank lines (nothing but spaces and tabs) are not frames: they get no verdict and
//! are not counted, but do count for line numbers. See [`validate`] for what is checked and
//! [`report`] for the two output formats.
//!
//! Exit status: 0 when every frame is valid, 1 when any is invalid, 2 on a usage or I/O error
//! (nothing is validated when a FILE cannot be opened).

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ocpp_messages::OcppVersion;

pub mod lines;
pub mod report;
pub mod validate;

use lines::{Line, LineReader};
use report::Report;
use validate::Validator;

/// The exit status when every frame is valid.
pub const EXIT_VALID: u8 = 0;
/// The exit status when some frame is invalid.
pub const EXIT_INVALID: u8 = 1;
/// The exit status on a usage or I/O error.
pub const EXIT_ERROR: u8 = 2;

/// The name standard input is reported under.
pub const STDIN_NAME: &str = "<stdin>";

/// Tools for OCPP (Open Charge Point Protocol).
#[derive(Debug, Parser)]
#[command(name = "ocpp", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate OCPP-J frames, one per line, against the schemas of an OCPP version.
    Validate(ValidateArgs),
}

/// The arguments of `ocpp validate`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = VALIDATE_HELP)]
pub struct ValidateArgs {
    /// The OCPP version: 1.6, 2.0.1 or 2.1.
    #[arg(long = "ocpp", value_name = "VERSION")]
    pub version: OcppVersion,

    /// Print one JSON object per frame instead of a report of the invalid ones.
    #[arg(long)]
    pub json: bool,

    /// With --json: add to each valid CALL and CALLRESULT its payload as decoded into the typed
    /// Rust value and encoded back.
    #[arg(long, requires = "json")]
    pub reencode: bool,

    /// Files of frames, one per line; `-` or none for standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

const VALIDATE_HELP: &str = "\
Each non-blank line is one frame. A CALL is validated against its action's request schema; a \
CALLRESULT against the response schema of the CALL with the same message id earlier in the same \
file (with none, it is invalid with errorCode null); a CALLERROR must have an error code the \
version accepts: one it defines, or MessageTypeNotSupported (else it is invalid as a malformed \
frame: RpcFrameworkError in 2.x). Errors that decide the errorCode come first. Lines that are \
not UTF-8, not JSON, not a frame, or longer than 16 MiB are invalid with the code the version \
prescribes (RpcFrameworkError in 2.x). A message type number the version does not define is \
MessageTypeNotSupported in 2.0.1; 1.6 and 2.1 ignore such a frame, and it is invalid with \
errorCode null (\"ignored: unknown message type\"). Every verdict is the one the ocpp-messages \
runtime comes to.

Output without --json: one line per invalid frame,
  FILE:LINE: MESSAGE_ID ACTION: ERROR_CODE: FIRST_ERROR (and N more)
('-' for what is unknown), then `N frames: V valid, I invalid`.

Output with --json: one object per frame,
  {\"line\":N,\"messageId\":\"...\"|null,\"action\":\"...\"|null,\"valid\":true|false,
   \"errorCode\":\"...\"|null,\"errors\":[{\"path\":\"/csr\"|null,\"message\":\"...\"}]}
with \"file\" first when several files are given and \"payload\" last with --reencode. \
`path` is a JSON pointer into the payload, or null for a problem with the frame itself.

Exit status: 0 if every frame is valid, 1 if any is invalid, 2 on a usage or I/O error.";

/// An input to read: a file or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn from_args(files: &[PathBuf]) -> Vec<Input> {
        if files.is_empty() {
            return vec![Input::Stdin];
        }
        files
            .iter()
            .map(|f| {
                if f.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::File(f.clone())
                }
            })
            .collect()
    }

    fn name(&self) -> String {
        match self {
            Input::Stdin => STDIN_NAME.to_owned(),
            Input::File(path) => path.display().to_string(),
        }
    }

    /// Checks that the file can be read, without keeping it open.
    fn check(&self) -> io::Result<()> {
        match self {
            Input::Stdin => Ok(()),
            Input::File(path) => {
                if File::open(path)?.metadata()?.is_dir() {
                    return Err(io::Error::other("is a directory"));
                }
                Ok(())
            }
        }
    }

    fn open(&self) -> io::Result<Box<dyn BufRead>> {
        Ok(match self {
            Input::Stdin => Box::new(io::stdin().lock()),
            Input::File(path) => Box::new(BufReader::with_capacity(1 << 16, File::open(path)?)),
        })
    }
}

/// Parses the command line and runs it, writing to the process's stdout and stderr; returns
/// the exit status.
pub fn main_with_args<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_VALID
            };
            // Nothing sensible is left to do if the help or the error cannot be printed.
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Validate(args) => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            run_validate(&args, &mut out, &mut io::stderr())
        }
    }
}

/// Runs `ocpp validate`: reads every input in turn, writes the report to `out` and error
/// messages to `err`, and returns the exit status.
pub fn run_validate(args: &ValidateArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let inputs = Input::from_args(&args.files);
    let mut unreadable = false;
    for input in &inputs {
        if let Err(e) = input.check() {
            let _ = writeln!(err, "ocpp: {}: {e}", input.name());
            unreadable = true;
        }
    }
    if unreadable {
        return EXIT_ERROR;
    }
    let mut report = Report::new(args.json, args.reencode, inputs.len() > 1);
    for input in &inputs {
        let name = input.name();
        let result = input.open().map_err(Failure::Read).and_then(|reader| {
            let validator = Validator::new(args.version).reencoding(args.reencode);
            validate_stream(validator, &name, reader, &mut report, out)
        });
        match result {
            Ok(()) => {}
            Err(Failure::Read(e)) => {
                let _ = out.flush();
                let _ = writeln!(err, "ocpp: {name}: {e}");
                return EXIT_ERROR;
            }
            Err(Failure::Write(e)) => return write_failed(&e, err),
        }
    }
    if let Err(e) = report.finish(out).and_then(|()| out.flush()) {
        return write_failed(&e, err);
    }
    if report.invalid() == 0 {
        EXIT_VALID
    } else {
        EXIT_INVALID
    }
}

/// An I/O error while validating, on the input or the output side.
enum Failure {
    Read(io::Error),
    Write(io::Error),
}

fn write_failed(e: &io::Error, err: &mut dyn Write) -> u8 {
    // A closed pipe (`ocpp validate ... | head`) is the reader's choice, not worth a message.
    if e.kind() != io::ErrorKind::BrokenPipe {
        let _ = writeln!(err, "ocpp: cannot write the report: {e}");
    }
    EXIT_ERROR
}

fn validate_stream(
    mut validator: Validator,
    name: &str,
    reader: Box<dyn BufRead>,
    report: &mut Report,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let mut reader = LineReader::new(reader);
    while let Some((number, line)) = reader.next_line().map_err(Failure::Read)? {
        let verdict = match line {
            Line::Blank => continue,
            Line::Bytes(bytes) => validator.check_line(bytes),
            Line::TooLong => validator.check_too_long(lines::MAX_LINE_BYTES),
        };
        report
            .record(out, name, number, verdict)
            .map_err(Failure::Write)?;
    }
    Ok(())
}
