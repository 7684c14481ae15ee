/// The one place where integer arithmetic on values from outside (a request,
/// a handler file, an endpoint's response, a row of the log) is done: every
/// helper here either saturates at the type's bounds or reports failure, so
/// no value anyone sends can trap the process.
///
/// Use `saturating…` where a bound is the right answer (a delay, a deadline)
/// and `checked…` where an out-of-range value must be refused (a timestamp a
/// provider claims).
extension FixedWidthInteger {
    /// `self + other`, or the type's bound in the direction of the overflow.
    @inlinable public func saturatingAdding(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, or the type's bound in the direction of the overflow.
    @inlinable public func saturatingSubtracting(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other > 0 ? .min : .max
    }

    /// `self * other`, or the type's bound with the sign of the true product.
    @inlinable public func saturatingMultiplied(by other: Self) -> Self {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }

    /// `self * other`, or nil when it does not fit.
    @inlinable public func checkedMultiplied(by other: Self) -> Self? {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? nil : product
    }

    /// `self + other`, or nil when it does not fit.
    @inlinable public func checkedAdding(_ other: Self) -> Self? {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? nil : sum
    }
}

extension BinaryInteger {
    /// `self` limited to `range`.
    @inlinable public func clamped(to range: ClosedRange<Self>) -> Self {
        Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
    }
}

extension Int64 {
    /// A floating-point value rounded toward zero and limited to Int64's
    /// range; NaN becomes 0. `Int64(someDouble)` traps on both.
    @inlinable public init(saturating value: Double) {
        if value.isNaN { self = 0 }
        else if value >= 9.223372036854775807e18 { self = .max }
        else if value <= -9.223372036854775808e18 { self = .min }
        else { self = Int64(value) }
    }
}

extension Int {
    /// See `Int64(saturating:)`.
    @inlinable public init(saturating value: Double) {
        self = Int(Int64(saturating: value))
    }
}
