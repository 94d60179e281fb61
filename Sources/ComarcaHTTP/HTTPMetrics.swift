import Foundation
import PGClient
public import Prometheus

/// Request counts and latencies by route and status, and the database pool's use, in the
/// Prometheus text format. One registry per application, so tests can read their own.
public final class HTTPMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
    ]

    public init() {}

    func record(method: String, route: String, status: Int, duration: Duration) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "comarca", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by route and status"),
            labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "comarca", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency by route and status"),
            labels: labels, buckets: buckets
        ).record(duration)
    }

    /// The exposition text, with the pool gauges read at scrape time.
    func render(pool: PGPool) async -> String {
        let stats = await pool.statistics()
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "comarca", metricName: "db_pool_connections_open", unitName: "", helpText: "Open database connections")).set(Double(stats.open))
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "comarca", metricName: "db_pool_connections_in_use", unitName: "", helpText: "Database connections leased to requests")).set(Double(stats.leased))
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "comarca", metricName: "db_pool_waiting", unitName: "", helpText: "Requests waiting for a database connection")).set(Double(stats.waiting))
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "comarca", metricName: "db_pool_connections_max", unitName: "", helpText: "Pool size")).set(Double(pool.configuration.maxConnections))
        return registry.emitToString()
    }
}
