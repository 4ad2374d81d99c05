//! A minimal Chrome DevTools Protocol client for the docs site test: starts headless Chromium
//! with a fresh profile, attaches to its page over a websocket and offers `eval`, `wait_for`,
//! real mouse clicks and key presses, wheel events and screenshots.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Where Chromium is: `$SLUICE_CHROMIUM`, or the usual Debian/Ubuntu names on the PATH.
pub fn chromium_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SLUICE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    for name in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(name).exists() {
            return Some(PathBuf::from(name));
        }
    }
    None
}

pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
    /// URLs of every request the page made (Network.requestWillBeSent).
    pub requests: Vec<String>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(host_port: &str, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host_port}\r\n\r\n");
    let attempt = || -> std::io::Result<String> {
        let mut s = TcpStream::connect(host_port)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(request.as_bytes())?;
        // Chromium keeps the connection open: read the headers, then Content-Length bytes.
        let mut r = BufReader::new(s);
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    };
    attempt().unwrap_or_default()
}

impl Browser {
    pub fn launch(chromium: &Path, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(i) = line.find("ws://") {
                        let _ = tx.send(line[i..].trim().to_string());
                        sent = true;
                    }
                }
            }
        });
        let browser_ws = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium printed no DevTools URL within 60 s");
        let host_port = browser_ws
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        let page_ws = loop {
            let list: Value =
                serde_json::from_str(&http_get(&host_port, "/json/list")).unwrap_or(Value::Null);
            if let Some(p) = list.as_array().and_then(|a| {
                a.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            }) {
                break p.to_string();
            }
            assert!(Instant::now() < deadline, "no page target in chromium");
            std::thread::sleep(Duration::from_millis(100));
        };
        let stream = TcpStream::connect(&host_port).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let (ws, _) = tungstenite::client(page_ws.as_str(), stream).expect("websocket handshake");
        let mut b = Browser {
            child,
            _profile: profile,
            ws,
            next_id: 0,
            requests: Vec::new(),
        };
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b.call("Network.enable", json!({}));
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    /// Sends one command and returns its `result` (panics on a protocol error).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws
            .send(tungstenite::Message::Text(msg.into()))
            .expect("send to chromium");
        loop {
            let m = self.ws.read().expect("read from chromium");
            let tungstenite::Message::Text(t) = m else {
                continue;
            };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["method"] == "Network.requestWillBeSent" {
                if let Some(u) = v.pointer("/params/request/url").and_then(Value::as_str) {
                    self.requests.push(u.to_string());
                }
            }
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("`{expr}` threw: {e}");
        }
        r.pointer("/result/value").cloned().unwrap_or(Value::Null)
    }

    /// Polls `expr` until it is truthy; panics with `what` after `secs`.
    pub fn wait_for(&mut self, expr: &str, what: &str, secs: u64) -> Duration {
        let t = Instant::now();
        loop {
            let v = self.eval(&format!("!!({expr})"));
            if v == json!(true) {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(secs),
                "timed out after {secs}s waiting for {what}; page text: {}",
                self.eval("document.body ? document.body.innerText.slice(0, 800) : ''")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    /// The centre of the first element matching `selector`, scrolled into view.
    pub fn center_of(&mut self, selector: &str) -> (f64, f64) {
        let sel = serde_json::to_string(selector).unwrap();
        let v = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
        ));
        let a = v
            .as_array()
            .unwrap_or_else(|| panic!("no element matches {selector}"));
        (a[0].as_f64().unwrap(), a[1].as_f64().unwrap())
    }

    /// A real mouse click (pressed + released) at the centre of `selector`.
    pub fn click(&mut self, selector: &str) {
        let (x, y) = self.center_of(selector);
        self.click_at(x, y, 1);
    }

    pub fn click_at(&mut self, x: f64, y: f64, count: u32) {
        for ty in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": ty, "x": x, "y": y, "button": if ty == "mouseMoved" { "none" } else { "left" }, "clickCount": count}),
            );
        }
    }

    pub fn wheel(&mut self, x: f64, y: f64, delta_y: f64) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": delta_y}),
        );
    }

    pub fn drag(&mut self, from: (f64, f64), to: (f64, f64)) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mousePressed", "x": from.0, "y": from.1, "button": "left", "clickCount": 1}),
        );
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": to.0, "y": to.1, "button": "left", "buttons": 1}),
        );
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseReleased", "x": to.0, "y": to.1, "button": "left", "clickCount": 1}),
        );
    }

    /// Types text into the focused element, as keyboard input.
    pub fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({"text": text}));
    }

    pub fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}
