//! Room passwords: Argon2id with a random salt, stored as a PHC string (`$argon2id$v=19$...`).
//!
//! Argon2 is deliberately slow (tens of ms) and memory-hard (~19 MiB per hash). It runs on
//! a few threads of its own (on the async threads it would stall every other socket), one
//! hash per thread at a time, each thread with its own Argon2 memory, allocated once and
//! reused by every hash it runs; the rest wait in a queue, for a while. Before, each hash
//! ran on tokio's blocking pool (up to 512 at once) with memory of its own: a burst of room
//! creations took the process to gigabytes, and the allocator kept much of it (even one
//! thread hashing in a loop grew by 19 MiB a hash: the 64-byte aligned blocks fragment).

use std::{
    panic::{self, AssertUnwindSafe},
    sync::{
        mpsc::{self, Receiver, SyncSender, TrySendError},
        Arc, Mutex,
    },
    thread,
    time::Instant,
};

use argon2::{
    password_hash::{self, Output, ParamsString, Salt, SaltString},
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
};
use rand::rngs::OsRng;
use tokio::sync::oneshot;

use super::error::StoreError;
use crate::config::HashLimits;

/// Hashes waiting beyond this many are refused at once: they could not start in time anyway.
const MAX_QUEUED: usize = 256;

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The hashing threads and their queue. Dropping it (with the store) ends the threads once
/// the queue is empty.
pub(super) struct Hasher {
    jobs: SyncSender<Job>,
    limits: HashLimits,
}

impl Hasher {
    pub(super) fn new(limits: HashLimits) -> Result<Hasher, StoreError> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(MAX_QUEUED);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..limits.concurrency {
            let queue = queue.clone();
            thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Hasher { jobs, limits })
    }

    /// The PHC string for `plain`. The parameters (argon2's defaults, OWASP's recommended
    /// Argon2id m=19 MiB, t=2, p=1) are recorded in the string, so raising them later keeps
    /// old hashes verifiable.
    pub(super) async fn hash(&self, plain: String) -> Result<String, StoreError> {
        self.run(move |memory| {
            let salt = SaltString::generate(&mut OsRng);
            let params = Params::default();
            memory
                .hash(
                    plain.as_bytes(),
                    Algorithm::default(),
                    Version::default(),
                    params,
                    salt.as_salt(),
                )
                .map(|phc| phc.to_string())
                .map_err(|e| StoreError::Hash(e.to_string()))
        })
        .await?
    }

    /// Whether `plain` matches `phc`; an unparsable hash or a failed job is a no. Only a
    /// full queue is an error ([`StoreError::Busy`]): the password was not checked at all.
    pub(super) async fn verify(&self, phc: String, plain: String) -> Result<bool, StoreError> {
        match self
            .run(move |memory| memory.verify(plain.as_bytes(), &phc))
            .await
        {
            Err(StoreError::Busy) => Err(StoreError::Busy),
            verified => Ok(verified.unwrap_or(false)),
        }
    }

    /// Runs `work` on a hashing thread, or fails with `Busy` if it could not start within
    /// [`HashLimits::queue_timeout`] (or the queue is full).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (done, result) = oneshot::channel();
        let start_by = Instant::now() + self.limits.queue_timeout;
        let job: Job = Box::new(move |memory| {
            // Skipped, not run, if its request went away or it waited too long: nobody
            // would see the result.
            if done.is_closed() {
                return;
            }
            if Instant::now() > start_by {
                let _ = done.send(Err(StoreError::Busy));
                return;
            }
            let _ = done.send(Ok(work(memory)));
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(StoreError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(StoreError::Hash(
                    "the hashing threads have stopped".to_owned(),
                ))
            }
        }
        // Every job queued before this one either started or will be skipped by our
        // deadline, so this resolves within the timeout plus one hash.
        result
            .await
            .unwrap_or_else(|_| Err(StoreError::Hash("the hashing job panicked".to_owned())))
    }
}

/// One hashing thread: runs queued jobs with its memory until the queue's sender is gone.
fn work(queue: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        // Only the wait for a job holds the lock; a panicking job cannot poison it.
        let job = match queue.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        // A panic drops the job's reply sender (its caller gets an error); the thread lives on.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

/// A thread's Argon2 memory, grown to what the parameters need and then reused.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..count]
    }

    /// What argon2's `PasswordHasher::hash_password` does, in this memory.
    fn hash<'a>(
        &mut self,
        password: &[u8],
        algorithm: Algorithm,
        version: Version,
        params: Params,
        salt: Salt<'a>,
    ) -> password_hash::Result<PasswordHash<'a>> {
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let output = Output::init_with(output_len, |out| {
            Ok(argon2.hash_password_into_with_memory(
                password,
                salt_bytes,
                out,
                self.blocks(&params),
            )?)
        })?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(output),
        })
    }

    /// What argon2's `PasswordVerifier::verify_password` does, in this memory: the hash
    /// again with the parameters stored in `phc` (not the current defaults), compared in
    /// constant time (`Output`'s equality). Anything unparsable is a no.
    fn verify(&mut self, password: &[u8], phc: &str) -> bool {
        let mut recompute = || -> password_hash::Result<bool> {
            let stored = PasswordHash::new(phc)?;
            let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
                return Ok(false);
            };
            let version = stored
                .version
                .map(Version::try_from)
                .transpose()?
                .unwrap_or_default();
            let algorithm = Algorithm::try_from(stored.algorithm)?;
            let params = Params::try_from(&stored)?;
            let computed = self.hash(password, algorithm, version, params, salt)?;
            Ok(computed.hash == Some(expected))
        };
        recompute().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::mpsc, time::Duration};

    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    #[test]
    fn hashes_are_argon2s_own_phc_strings_whatever_the_memory_held_before() {
        let mut memory = Memory::default();
        let salt = SaltString::generate(&mut OsRng);
        let ours = memory
            .hash(
                b"pw",
                Algorithm::default(),
                Version::default(),
                Params::default(),
                salt.as_salt(),
            )
            .expect("hashed")
            .to_string();
        let theirs = Argon2::default()
            .hash_password(b"pw", &salt)
            .expect("hashed")
            .to_string();
        assert_eq!(ours, theirs);
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // The memory now holds the last hash's blocks; verifying reuses it.
        assert!(memory.verify(b"pw", &theirs));
        assert!(!memory.verify(b"PW", &theirs));
        let parsed = PasswordHash::new(&ours).expect("parses");
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
        // Hashes made with other parameters still verify with theirs.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).expect("params"),
        )
        .hash_password(b"pw", &salt)
        .expect("hashed")
        .to_string();
        assert!(memory.verify(b"pw", &small));
        for broken in [
            "",
            "not a phc string",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA",
        ] {
            assert!(!memory.verify(b"pw", broken), "{broken}");
        }
    }

    #[tokio::test]
    async fn a_hash_waits_for_a_thread_and_gives_up_after_the_queue_timeout() {
        let hasher = Hasher::new(HashLimits {
            concurrency: 1,
            queue_timeout: Duration::from_millis(50),
        })
        .expect("threads start");
        // The only thread is busy until released, longer than the queue timeout.
        let (release, wait) = mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        let blocker = hasher.run(move |_| {
            let _ = started.send(());
            let _ = wait.recv();
        });
        let queued = async {
            running.await.expect("the blocker runs");
            hasher.hash("pw".to_owned()).await
        };
        let releaser = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            release.send(()).expect("the blocker waits");
        };
        let (blocked, queued, ()) = tokio::join!(blocker, queued, releaser);
        blocked.expect("the blocker ran");
        assert!(matches!(queued, Err(StoreError::Busy)), "{queued:?}");

        let phc = hasher
            .hash("pw".to_owned())
            .await
            .expect("the thread is free");
        assert_eq!(
            hasher.verify(phc.clone(), "pw".to_owned()).await.ok(),
            Some(true)
        );
        assert_eq!(hasher.verify(phc, "PW".to_owned()).await.ok(), Some(false));
    }
}
