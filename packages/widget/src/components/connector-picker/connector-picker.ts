import { ConnectorPicker } from './connector-picker.component.js';

export { ConnectorPicker };
export default ConnectorPicker;

ConnectorPicker.define('connector-picker');

declare global {
  interface HTMLElementTagNameMap {
    'connector-picker': ConnectorPicker;
  }
}
