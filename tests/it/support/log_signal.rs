//! A tracing layer that calls back when the code under test logs a given event, so a test
//! knows the code reached that point without sleeping.

/// Calls `then` for every event whose fields (message included), rendered together, contain
/// every one of `needles`.
pub struct LogSignal<F> {
    pub needles: Vec<String>,
    pub then: F,
}

impl<S: tracing::Subscriber, F: Fn() + Send + Sync + 'static> tracing_subscriber::Layer<S>
    for LogSignal<F>
{
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Render(String);
        impl tracing::field::Visit for Render {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={v:?}", f.name()));
            }
        }
        let mut text = Render(String::new());
        event.record(&mut text);
        if self.needles.iter().all(|n| text.0.contains(n.as_str())) {
            (self.then)();
        }
    }
}
