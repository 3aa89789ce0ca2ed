export { type ParquetWriteOptions, type ParquetWriteResult, ParquetInputError, writeParquet } from "./parquet-writer.js";
export { pythonInterpreter } from "./python.js";
