//! Handlers and what they take.
//!
//! A handler is an async closure whose arguments are extractors, in any order:
//!
//! ```no_run
//! # use actix_socketio::{AckSender, Data, Socket, SocketIo, State};
//! # #[derive(serde::Deserialize)] struct Chat { text: String }
//! # struct Db;
//! # fn f(io: SocketIo) {
//! io.on_connect(|socket: Socket| async move {
//!     socket.on("chat", |socket: Socket, Data(chat): Data<Chat>, ack: AckSender, db: State<Db>| async move {
//!         let _ = socket.broadcast().emit("chat", &chat.text);
//!         let _ = ack.send("stored");
//!     });
//! });
//! # }
//! ```
//!
//! An extractor that fails (data that does not decode, state never given) means the
//! handler does not run; the failure is logged. A handler that must answer bad data itself
//! takes [`TryData`], which always extracts.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::{ConnectError, DisconnectReason, Error};
use super::event::{AckSender, Event};
use super::packet::Payload;
use super::socket::{DisconnectFn, EventFn, Socket};
use super::task::run_local;

/// The event's arguments, decoded as `T`: from the only argument when there is exactly one,
/// else from the array of all of them (so a tuple takes several). In a connect handler or
/// middleware, the CONNECT auth. The handler does not run when they do not decode.
#[derive(Debug, Clone)]
pub struct Data<T>(pub T);

/// [`Data`] that always extracts: the handler sees the decoding error, and can answer it.
#[derive(Debug)]
pub struct TryData<T>(pub Result<T, Error>);

/// The application's state of type `T`, as given to the server
/// ([`SocketIoBuilder::with_state`](super::SocketIoBuilder::with_state)).
#[derive(Debug)]
pub struct State<T>(pub Arc<T>);

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(self.0.clone())
    }
}

impl<T> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A copy of the socket's extension of type `T`; the handler does not run without one
/// (take `Option<Extension<T>>` to run anyway).
#[derive(Debug, Clone)]
pub struct Extension<T>(pub T);

/// The event's binary attachments.
#[derive(Debug, Clone)]
pub struct Bin(pub Vec<Bytes>);

/// Extracts a handler argument from an incoming event.
pub trait FromEvent: Sized {
    /// The argument, or why the handler cannot run.
    fn from_event(socket: &Socket, event: &mut Event) -> Result<Self, Error>;
}

/// Extracts a connect handler's or middleware's argument from the socket.
pub trait FromSocket: Sized {
    /// The argument, or why the handler cannot run.
    fn from_socket(socket: &Socket) -> Result<Self, Error>;
}

/// Extracts a disconnect handler's argument.
pub trait FromDisconnect: Sized {
    /// The argument, or why the handler cannot run.
    fn from_disconnect(socket: &Socket, reason: DisconnectReason) -> Result<Self, Error>;
}

fn state<T: Send + Sync + 'static>(socket: &Socket) -> Result<State<T>, Error> {
    socket
        .state::<T>()
        .map(State)
        .ok_or(Error::MissingState(std::any::type_name::<T>()))
}

fn extension<T: Clone + Send + Sync + 'static>(socket: &Socket) -> Result<Extension<T>, Error> {
    socket
        .extension::<T>()
        .map(Extension)
        .ok_or(Error::MissingExtension(std::any::type_name::<T>()))
}

impl FromEvent for Socket {
    fn from_event(socket: &Socket, _: &mut Event) -> Result<Self, Error> {
        Ok(socket.clone())
    }
}

impl<T: DeserializeOwned> FromEvent for Data<T> {
    fn from_event(_: &Socket, event: &mut Event) -> Result<Self, Error> {
        event.data().map(Data)
    }
}

impl<T: DeserializeOwned> FromEvent for TryData<T> {
    fn from_event(_: &Socket, event: &mut Event) -> Result<Self, Error> {
        Ok(TryData(event.data()))
    }
}

impl FromEvent for Bin {
    fn from_event(_: &Socket, event: &mut Event) -> Result<Self, Error> {
        Ok(Bin(event.binary().to_vec()))
    }
}

/// Takes the event's ack; extractors after it see none.
impl FromEvent for AckSender {
    fn from_event(_: &Socket, event: &mut Event) -> Result<Self, Error> {
        Ok(event.take_ack())
    }
}

/// Takes the whole event (arguments and ack); extractors after it see an empty event.
impl FromEvent for Event {
    fn from_event(_: &Socket, event: &mut Event) -> Result<Self, Error> {
        let name = event.name().to_owned();
        let payload = std::mem::take(event.payload_mut());
        Ok(Event::new(name, payload, event.take_ack()))
    }
}

impl<T: Send + Sync + 'static> FromEvent for State<T> {
    fn from_event(socket: &Socket, _: &mut Event) -> Result<Self, Error> {
        state(socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromEvent for Extension<T> {
    fn from_event(socket: &Socket, _: &mut Event) -> Result<Self, Error> {
        extension(socket)
    }
}

impl<T: FromEvent> FromEvent for Option<T> {
    fn from_event(socket: &Socket, event: &mut Event) -> Result<Self, Error> {
        Ok(T::from_event(socket, event).ok())
    }
}

impl FromSocket for Socket {
    fn from_socket(socket: &Socket) -> Result<Self, Error> {
        Ok(socket.clone())
    }
}

/// The CONNECT auth, decoded.
impl<T: DeserializeOwned> FromSocket for Data<T> {
    fn from_socket(socket: &Socket) -> Result<Self, Error> {
        T::deserialize(&socket.handshake().auth)
            .map(Data)
            .map_err(Error::Decode)
    }
}

/// The CONNECT auth, decoded or not.
impl<T: DeserializeOwned> FromSocket for TryData<T> {
    fn from_socket(socket: &Socket) -> Result<Self, Error> {
        Ok(TryData(Data::from_socket(socket).map(|Data(auth)| auth)))
    }
}

impl<T: Send + Sync + 'static> FromSocket for State<T> {
    fn from_socket(socket: &Socket) -> Result<Self, Error> {
        state(socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromSocket for Extension<T> {
    fn from_socket(socket: &Socket) -> Result<Self, Error> {
        extension(socket)
    }
}

impl<T: FromSocket> FromSocket for Option<T> {
    fn from_socket(socket: &Socket) -> Result<Self, Error> {
        Ok(T::from_socket(socket).ok())
    }
}

impl FromDisconnect for Socket {
    fn from_disconnect(socket: &Socket, _: DisconnectReason) -> Result<Self, Error> {
        Ok(socket.clone())
    }
}

impl FromDisconnect for DisconnectReason {
    fn from_disconnect(_: &Socket, reason: DisconnectReason) -> Result<Self, Error> {
        Ok(reason)
    }
}

impl<T: Send + Sync + 'static> FromDisconnect for State<T> {
    fn from_disconnect(socket: &Socket, _: DisconnectReason) -> Result<Self, Error> {
        state(socket)
    }
}

impl<T: Clone + Send + Sync + 'static> FromDisconnect for Extension<T> {
    fn from_disconnect(socket: &Socket, _: DisconnectReason) -> Result<Self, Error> {
        extension(socket)
    }
}

impl<T: FromDisconnect> FromDisconnect for Option<T> {
    fn from_disconnect(socket: &Socket, reason: DisconnectReason) -> Result<Self, Error> {
        Ok(T::from_disconnect(socket, reason).ok())
    }
}

/// Handles one event; implemented for async closures whose arguments are [`FromEvent`].
pub trait EventHandler<T>: Send + Sync + 'static {
    /// Extracts the arguments and runs the handler.
    fn call(&self, socket: Socket, event: Event);
}

/// Runs when a socket has joined a namespace; implemented for async closures whose
/// arguments are [`FromSocket`].
pub trait ConnectHandler<T>: Send + Sync + 'static {
    /// Extracts the arguments and runs the handler.
    fn call(&self, socket: Socket);
}

/// A future a connect middleware returns.
pub type MiddlewareFuture = Pin<Box<dyn Future<Output = Result<(), ConnectError>>>>;

/// Decides whether a socket may join, before the CONNECT answer; implemented for async
/// closures whose arguments are [`FromSocket`] and that return `Result<(), ConnectError>`.
/// An argument that does not extract refuses the socket with its error as the message.
pub trait ConnectMiddleware<T>: Send + Sync + 'static {
    /// Extracts the arguments and runs the middleware.
    fn call(&self, socket: Socket) -> MiddlewareFuture;
}

/// Handles a socket's disconnection; implemented for async closures whose arguments are
/// [`FromDisconnect`].
pub trait DisconnectHandler<T>: Send + Sync + 'static {
    /// Extracts the arguments and runs the handler.
    fn call(&self, socket: Socket, reason: DisconnectReason);
}

/// Logs why a handler did not run: data a client sent that does not decode is the client's
/// mistake; anything else is the application's.
fn not_run(socket: &Socket, what: &str, error: &Error) {
    match error {
        Error::Decode(_) => log::debug!(
            "{} {what} on socket {}: handler not run: {error}",
            socket.nsp(),
            socket.id()
        ),
        _ => log::error!(
            "{} {what} on socket {}: handler not run: {error}",
            socket.nsp(),
            socket.id()
        ),
    }
}

macro_rules! handlers {
    ($($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables, unused_mut)]
        impl<F, Fut, $($arg,)*> EventHandler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = ()> + 'static,
            $($arg: FromEvent + 'static,)*
        {
            fn call(&self, socket: Socket, mut event: Event) {
                $(
                    let $arg = match $arg::from_event(&socket, &mut event) {
                        Ok(value) => value,
                        Err(error) => return not_run(&socket, event.name(), &error),
                    };
                )*
                run_local(self($($arg),*));
            }
        }

        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, $($arg,)*> ConnectHandler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = ()> + 'static,
            $($arg: FromSocket + 'static,)*
        {
            fn call(&self, socket: Socket) {
                $(
                    let $arg = match $arg::from_socket(&socket) {
                        Ok(value) => value,
                        Err(error) => return not_run(&socket, "connection", &error),
                    };
                )*
                run_local(self($($arg),*));
            }
        }

        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, $($arg,)*> ConnectMiddleware<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = Result<(), ConnectError>> + 'static,
            $($arg: FromSocket + 'static,)*
        {
            fn call(&self, socket: Socket) -> MiddlewareFuture {
                $(
                    let $arg = match $arg::from_socket(&socket) {
                        Ok(value) => value,
                        Err(error) => {
                            not_run(&socket, "middleware", &error);
                            let refusal = ConnectError::new(error.to_string());
                            return Box::pin(async move { Err(refusal) });
                        }
                    };
                )*
                Box::pin(self($($arg),*))
            }
        }

        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, $($arg,)*> DisconnectHandler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = ()> + 'static,
            $($arg: FromDisconnect + 'static,)*
        {
            fn call(&self, socket: Socket, reason: DisconnectReason) {
                $(
                    let $arg = match $arg::from_disconnect(&socket, reason) {
                        Ok(value) => value,
                        Err(error) => return not_run(&socket, "disconnect", &error),
                    };
                )*
                run_local(self($($arg),*));
            }
        }
    };
}

handlers!();
handlers!(A1);
handlers!(A1, A2);
handlers!(A1, A2, A3);
handlers!(A1, A2, A3, A4);
handlers!(A1, A2, A3, A4, A5);
handlers!(A1, A2, A3, A4, A5, A6);
handlers!(A1, A2, A3, A4, A5, A6, A7);

/// Handler registration. It lives here, beside the handler traits, so that the socket's
/// own file needs nothing from above it.
impl Socket {
    /// Handles the event `name`; a later handler for the same name replaces this one.
    pub fn on<H, T>(&self, name: impl Into<String>, handler: H)
    where
        H: EventHandler<T>,
        T: 'static,
    {
        let handler: EventFn = Arc::new(move |socket, event| handler.call(socket, event));
        let name = name.into();
        self.with_handlers(|h| {
            h.events.insert(name, handler);
        });
    }

    /// Runs when the socket has left its namespace (its rooms are gone).
    pub fn on_disconnect<H, T>(&self, handler: H)
    where
        H: DisconnectHandler<T>,
        T: 'static,
    {
        let handler = disconnect_fn(handler);
        self.with_handlers(|h| h.disconnect.push(handler));
    }

    /// Runs when the socket is about to leave its namespace, while
    /// [`Socket::rooms`] still has its rooms (Node's `disconnecting`).
    pub fn on_disconnecting<H, T>(&self, handler: H)
    where
        H: DisconnectHandler<T>,
        T: 'static,
    {
        let handler = disconnect_fn(handler);
        self.with_handlers(|h| h.rare_mut().disconnecting.push(handler));
    }
}

fn disconnect_fn<H: DisconnectHandler<T>, T: 'static>(handler: H) -> DisconnectFn {
    Arc::new(move |socket, reason| handler.call(socket, reason))
}

/// The event's arguments and attachments, copied (to forward them as they came).
impl FromEvent for Payload {
    fn from_event(_: &Socket, event: &mut Event) -> Result<Self, Error> {
        Ok(event.payload().clone())
    }
}
