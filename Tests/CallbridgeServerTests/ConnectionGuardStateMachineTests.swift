@testable import CallbridgeServer
import Testing

/// Every transition of the connection guard: which deadline runs when, and
/// who answers a request the decoder refused.
@Suite struct ConnectionGuardStateMachineTests {
    typealias Machine = ConnectionGuardStateMachine

    /// A connection that has read one complete request and owes its response.
    func awaitingResponse() -> Machine {
        var m = Machine()
        _ = m.activated()
        _ = m.bytesArrived()
        _ = m.headReceived()
        _ = m.endReceived()
        return m
    }

    @Test("a new connection waits under the idle deadline; its first byte starts the header deadline")
    func idleThenHead() {
        var m = Machine()
        #expect(m.activated() == .arm(.idle))
        #expect(m.activated() == .none)
        #expect(m.bytesArrived() == .arm(.head))
        #expect(m.bytesArrived() == .none)  // more bytes of the same head: the deadline is not pushed back
        #expect(m.headReceived() == .arm(.body))
        #expect(m.bytesArrived() == .none)
        #expect(m.endReceived() == .disarm)
        #expect(m.armed == nil)
    }

    @Test("no deadline runs while our own response is owed; the idle deadline starts after it")
    func responseThenIdle() {
        var m = awaitingResponse()
        #expect(m.armed == nil)
        #expect(m.timerFired(.idle) == .ignore)
        #expect(m.responseEnded() == .arm(.idle))
        #expect(m.unanswered == 0)
        #expect(m.timerFired(.idle) == .close)
        #expect(m.closed)
        #expect(m.bytesArrived() == .none)
    }

    @Test("an early answer (413 before the body) makes the end of the body start the idle deadline")
    func earlyAnswer() {
        var m = Machine()
        _ = m.activated()
        _ = m.bytesArrived()
        _ = m.headReceived()
        #expect(m.responseEnded() == .none)  // still reading the body: its deadline stays
        #expect(m.armed == .body)
        #expect(m.endReceived() == .arm(.idle))
    }

    @Test("pipelined: the next head while a response is owed gets its own body deadline, and the idle deadline waits for both answers")
    func pipelined() {
        var m = awaitingResponse()
        #expect(m.bytesArrived() == .arm(.head))
        #expect(m.headReceived() == .arm(.body))
        #expect(m.unanswered == 2)
        #expect(m.endReceived() == .disarm)
        #expect(m.responseEnded() == .none)
        #expect(m.responseEnded() == .arm(.idle))
    }

    @Test("the header deadline answers 408 when nothing is owed, and only closes when a response is")
    func headTimeout() {
        var idle = Machine()
        _ = idle.activated()
        _ = idle.bytesArrived()
        #expect(idle.timerFired(.body) == .ignore)  // a stale timer of another kind does nothing
        #expect(idle.timerFired(.head) == .answerTimeoutAndClose)
        #expect(idle.timerFired(.head) == .ignore)

        var owing = awaitingResponse()
        _ = owing.bytesArrived()
        #expect(owing.timerFired(.head) == .close)
    }

    @Test("the body deadline fails the body stream so the responder answers")
    func bodyTimeout() {
        var m = Machine()
        _ = m.activated()
        _ = m.bytesArrived()
        _ = m.headReceived()
        #expect(m.timerFired(.body) == .failRequestBody)
        #expect(!m.closed)
        #expect(m.timerFired(.body) == .ignore)
    }

    @Test("a malformed head with nothing owed is answered by the guard at once")
    func parseErrorAnsweredNow() {
        var m = Machine()
        _ = m.activated()
        _ = m.bytesArrived()
        #expect(m.parseErrorCaught() == .answerNowAndClose)
        #expect(m.closed)
        #expect(m.armed == nil)
        #expect(m.responseHead(frameworkBadRequest: true) == .passThrough)
    }

    @Test("a parse error inside a body is the responder's to answer: the framework's empty 400 after it is dropped")
    func parseErrorInBody() {
        var m = Machine()
        _ = m.activated()
        _ = m.bytesArrived()
        _ = m.headReceived()
        #expect(m.parseErrorCaught() == .forward)
        #expect(m.responseHead(frameworkBadRequest: false) == .passThrough)  // the responder's JSON 400
        #expect(m.responseEnd() == .passThrough)
        _ = m.responseEnded()
        #expect(m.responseHead(frameworkBadRequest: true) == .drop)
        #expect(m.dropsBody)
        #expect(m.responseEnd() == .endThenClose(dropped: true))
        #expect(m.closed)
    }

    @Test("garbage after a request whose answer is still owed: the framework's 400 for it is rewritten as JSON")
    func parseErrorBetweenRequests() {
        var m = awaitingResponse()
        _ = m.bytesArrived()
        #expect(m.parseErrorCaught() == .forward)
        #expect(m.responseHead(frameworkBadRequest: false) == .passThrough)
        #expect(m.responseEnd() == .passThrough)
        _ = m.responseEnded()
        #expect(m.responseHead(frameworkBadRequest: true) == .rewriteAsJSON)
        #expect(!m.dropsBody)
        #expect(m.responseEnd() == .endThenClose(dropped: false))
    }

    @Test("a bodiless 400 without a parse error is an ordinary response")
    func ordinaryBadRequest() {
        var m = awaitingResponse()
        #expect(m.responseHead(frameworkBadRequest: true) == .passThrough)
        #expect(m.responseEnd() == .passThrough)
    }
}
